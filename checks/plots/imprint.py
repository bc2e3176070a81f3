"""WHT image with star positions coloured by their WHT ratio."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import TwoSlopeNorm

from ._base import (DEFAULT_DPI, MAX_SIDE, _FONT, _NAN_COLOUR, _RATIO_LEVELS, _as_xy,
                    _message_png, _new_figure, _render)
from ._image import _grey_map, _image_title, _show_image


def imprint_map(wht: np.ndarray, positions: tuple[Sequence[float], Sequence[float]] | np.ndarray,
                ratios: Sequence[float] | np.ndarray, title: str, *,
                threshold: float | None = None, origin: int = 0, max_side: int = MAX_SIDE,
                dpi: int = DEFAULT_DPI) -> bytes:
    """WHT image with star positions coloured by their WHT ratio (dips in red).

    Parameters
    ----------
    wht : numpy.ndarray
        2-D drizzle weight image (linear stretch, grey), block-averaged if large.
    positions : (x, y) or (N, 2) array
        Star positions in ``wht`` pixels.
    ratios : array_like
        One WHT ratio per star (weight at the star over its local background weight):
        1 means no imprint, below 1 a dip. Coloured with a diverging map centred on 1,
        red below, blue above; NaN ratios are drawn as grey hollow circles.
    title : str
        Figure title.
    threshold : float, optional
        Ratio below which a star counts as an imprint: those get a black ring, and the
        threshold is marked on the colour bar.
    origin : {0, 1}
        Pixel origin of ``positions`` (0 numpy, 1 FITS).
    max_side : int
        Longest side of the displayed (binned) image.
    dpi : int
        Output resolution.

    Returns
    -------
    bytes
        PNG image (palette PNG).
    """
    arr = np.asarray(wht)
    if arr.ndim != 2:
        raise ValueError(f"imprint_map: expected a 2-D image, got shape {arr.shape}")
    x, y = _as_xy(positions, origin)
    r = np.atleast_1d(np.asarray(ratios, dtype=float)).ravel()
    if r.size != x.size:
        raise ValueError(f"imprint_map: {x.size} positions but {r.size} ratios")
    if arr.size == 0:
        return _message_png(title, "empty WHT image (0 pixels)", dpi=dpi)

    ny, nx = arr.shape
    aspect = float(np.clip(ny / nx, 0.5, 2.0))
    fig = _new_figure(7.0, max(3.0, 5.0 * aspect) + 0.7, dpi)
    ax = fig.add_axes((0.08, 0.08, 0.66, 0.78))
    wht_cax = fig.add_axes((0.755, 0.08, 0.022, 0.78))
    grey = _grey_map(0.08, 0.75)  # no pure white: pale markers stay visible
    _, factor = _show_image(fig, ax, arr, stretch="linear", max_side=max_side, cmap=grey,
                            cax=wht_cax, colorbar_label="WHT")
    ratio_map = colormaps["RdBu"].resampled(_RATIO_LEVELS)
    keep: list[object] = [_NAN_COLOUR, "#a50f15", "0.6", *grey.colors,
                          *ratio_map(np.linspace(0, 1, _RATIO_LEVELS))]
    pos_ok = np.isfinite(x) & np.isfinite(y)
    rated = pos_ok & np.isfinite(r)
    unrated = pos_ok & ~np.isfinite(r)
    n_dips = 0
    if np.any(rated):
        rv = r[rated]
        lo = max(min(float(rv.min()), 0.9), 0.0)
        hi = min(max(float(rv.max()), 1.1), 3.0)
        norm = TwoSlopeNorm(vcenter=1.0, vmin=min(lo, 0.999), vmax=max(hi, 1.001))
        order = np.argsort(-np.abs(rv - 1.0))[::-1]  # strongest deviations drawn on top
        sc = ax.scatter(x[rated][order], y[rated][order], c=rv[order], cmap=ratio_map,
                        norm=norm, s=30, edgecolors="k", linewidths=0.4, zorder=3)
        cax = fig.add_axes((0.875, 0.08, 0.022, 0.78))
        cb = fig.colorbar(sc, cax=cax)
        cb.set_label("WHT ratio (star / local); red = dip", fontsize=_FONT)
        cb.ax.tick_params(labelsize=_FONT - 1)
        if threshold is not None and math.isfinite(threshold):
            dips = rated & (r < threshold)
            n_dips = int(dips.sum())
            ax.plot(x[dips], y[dips], ls="", marker="o", ms=12, mfc="none", mec="k",
                    mew=1.1, zorder=4)
            if norm.vmin <= threshold <= norm.vmax:
                cb.ax.axhline(threshold, color="k", lw=1.5)
    if np.any(unrated):
        ax.plot(x[unrated], y[unrated], ls="", marker="o", ms=5.5, mfc="none", mec="0.6",
                mew=0.9, zorder=3)
    ax.set_xlim(-0.5, nx - 0.5)  # overlays outside the image must not widen the view
    ax.set_ylim(-0.5, ny - 0.5)
    ax.tick_params(labelsize=_FONT - 1)
    ax.set_xlabel("x (px)", fontsize=_FONT)
    ax.set_ylabel("y (px)", fontsize=_FONT)
    summary = f"{int(rated.sum())} stars rated"
    if threshold is not None:
        summary += f", {n_dips} below {threshold:g} (ringed)"
    if np.any(unrated):
        summary += f", {int(unrated.sum())} unrated (grey)"
    if not np.any(pos_ok):
        summary = "no star positions"
    ax.set_title(_image_title(title, arr.shape, factor) + f"\n{summary}", fontsize=_FONT + 1)
    return _render(fig, dpi, keep=keep)
