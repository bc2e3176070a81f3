"""An image (drizzled SCI or WHT) with optional source overlays."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ._base import (DEFAULT_DPI, MAX_SIDE, _FONT, _MARK_STYLES, _NAN_COLOUR,
                    _SOURCE_COLOUR, _as_xy, _message_png, _new_figure, _render)
from ._image import _grey_map, _image_title, _show_image


def image_png(data: np.ndarray, title: str, *,
              sources: tuple[Sequence[float], Sequence[float]] | np.ndarray | None = None,
              marks: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
              stretch: str = "zscale", origin: int = 0, max_side: int = MAX_SIDE,
              dpi: int = DEFAULT_DPI) -> bytes:
    """An image (e.g. a drizzled SCI or WHT array) with an optional source overlay.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image. NaN/inf pixels are shown in light blue; large images are
        block-averaged to ``max_side`` pixels first (:func:`downsample`).
    title : str
        Figure title (the image size and binning are appended).
    sources : (x, y) or (N, 2) array, optional
        Positions circled in green.
    marks : mapping of label to (x, y), optional
        Further position sets, each drawn with its own marker and legend entry
        (e.g. ``{"WHT dip": (x, y)}``).
    stretch : {"zscale", "linear"}
        ``"zscale"``: :class:`astropy.visualization.ZScaleInterval` (for SCI);
        ``"linear"``: 0 to 99.8 percentile (better for WHT/exposure maps).
    origin : {0, 1}
        Pixel origin of ``sources``/``marks``: 0 for numpy/astropy ``world_to_pixel``,
        1 for FITS/TweakReg catalogue coordinates.
    max_side : int
        Longest side of the displayed (binned) image.
    dpi : int
        Output resolution.

    Returns
    -------
    bytes
        PNG image (palette PNG).
    """
    arr = np.asarray(data)
    if arr.ndim != 2:
        raise ValueError(f"image_png: expected a 2-D image, got shape {arr.shape}")
    if arr.size == 0:
        return _message_png(title, "empty image (0 pixels)", dpi=dpi)
    ny, nx = arr.shape
    aspect = float(np.clip(ny / nx, 0.5, 2.0))
    fig = _new_figure(6.0, max(3.0, 5.0 * aspect) + 0.6, dpi)
    ax = fig.add_axes((0.10, 0.08, 0.74, 0.80))
    cax = fig.add_axes((0.86, 0.08, 0.03, 0.80))
    grey = _grey_map()
    _, factor = _show_image(fig, ax, arr, stretch=stretch, max_side=max_side, cmap=grey,
                            cax=cax)
    ax.tick_params(labelsize=_FONT - 1)
    ax.set_xlabel("x (px)", fontsize=_FONT)
    ax.set_ylabel("y (px)", fontsize=_FONT)
    keep: list[object] = [_NAN_COLOUR, "#a50f15", *grey.colors]
    if sources is not None:
        sx, sy = _as_xy(sources, origin)
        ok = np.isfinite(sx) & np.isfinite(sy)
        ax.plot(sx[ok], sy[ok], ls="", marker="o", ms=6.5, mfc="none", mec=_SOURCE_COLOUR,
                mew=0.9, label=f"sources ({int(ok.sum())})")
        keep.append(_SOURCE_COLOUR)
    for i, (label, pos) in enumerate((marks or {}).items()):
        mx, my = _as_xy(pos, origin)
        ok = np.isfinite(mx) & np.isfinite(my)
        marker, colour = _MARK_STYLES[i % len(_MARK_STYLES)]
        ax.plot(mx[ok], my[ok], ls="", marker=marker, ms=7, mfc="none", mec=colour,
                mew=1.4, label=f"{label} ({int(ok.sum())})")
        keep.append(colour)
    if sources is not None or marks:
        ax.legend(loc="upper right", fontsize=_FONT - 1, framealpha=0.75)
    ax.set_xlim(-0.5, nx - 0.5)  # overlays outside the image must not widen the view
    ax.set_ylim(-0.5, ny - 0.5)
    ax.set_title(_image_title(title, arr.shape, factor), fontsize=_FONT + 1)
    return _render(fig, dpi, keep=keep)
