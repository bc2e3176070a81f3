"""Drawing a (binned) image on axes: stretch limits, grey map, title."""
from __future__ import annotations

import numpy as np
from astropy.visualization import (AsymmetricPercentileInterval, ImageNormalize,
                                   LinearStretch, ZScaleInterval)
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, ListedColormap
from matplotlib.figure import Figure

from ._base import _FONT, _GREY_LEVELS, _NAN_COLOUR, _shorten
from .binning import downsample


def _limits(finite: np.ndarray, stretch: str) -> tuple[float, float]:
    if stretch == "zscale":
        vmin, vmax = ZScaleInterval().get_limits(finite)
    elif stretch == "linear":
        vmin, vmax = AsymmetricPercentileInterval(0.0, 99.8).get_limits(finite)
    else:
        raise ValueError(f"stretch must be 'zscale' or 'linear', not {stretch!r}")
    vmin, vmax = float(vmin), float(vmax)
    if not vmax > vmin:  # flat image
        pad = abs(vmin) * 1e-3 or 1.0
        vmin, vmax = vmin - pad, vmax + pad
    return vmin, vmax


def _show_image(fig: Figure, ax: Axes, data: np.ndarray, *, stretch: str, max_side: int,
                cmap: Colormap, cax: Axes | None = None,
                colorbar_label: str = "") -> tuple[bool, int]:
    """Downsample and draw ``data`` on ``ax`` in original pixel coordinates (0-based).

    Non-finite pixels are drawn in light blue. Returns ``(has_finite_pixels, factor)``.
    """

    # Bin to about the displayed size: every input pixel then contributes to what is
    # shown (nearest-neighbour display of a finer image would drop pixels and stars).
    box = ax.get_position()
    shown = int(max(box.width * fig.get_figwidth(), box.height * fig.get_figheight()) * fig.dpi)
    small, factor = downsample(data, max(1, min(max_side, shown)))
    by, bx = small.shape
    ny, nx = np.shape(data)
    extent = (-0.5, bx * factor - 0.5, -0.5, by * factor - 0.5)  # cut edge blocks overhang
    finite = small[np.isfinite(small)]
    ax.set_xlim(-0.5, nx - 0.5)
    ax.set_ylim(-0.5, ny - 0.5)
    ax.set_aspect("equal")
    if finite.size == 0:
        ax.set_facecolor(_NAN_COLOUR)
        ax.text(0.5, 0.5, "no finite pixels", transform=ax.transAxes, ha="center",
                va="center", fontsize=_FONT + 4, color="#a50f15", weight="bold")
        if cax is not None:
            cax.set_axis_off()
        return False, factor
    vmin, vmax = _limits(finite, stretch)
    norm = ImageNormalize(vmin=vmin, vmax=vmax, stretch=LinearStretch(), clip=False)
    im = ax.imshow(np.ma.masked_invalid(small), origin="lower", extent=extent,
                   cmap=cmap.with_extremes(bad=_NAN_COLOUR), norm=norm,
                   interpolation="nearest", resample=False)
    if cax is None:
        cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    else:
        cb = fig.colorbar(im, cax=cax)
    cb.ax.tick_params(labelsize=_FONT - 1)
    if colorbar_label:
        cb.set_label(colorbar_label, fontsize=_FONT)
    return True, factor


def _grey_map(low: float = 0.0, high: float = 1.0) -> Colormap:
    """``_GREY_LEVELS`` grey levels from ``low`` to ``high`` (an exact palette subset)."""
    return ListedColormap(colormaps["gray"](np.linspace(low, high, _GREY_LEVELS)))


def _image_title(title: str, shape: tuple[int, ...], factor: int) -> str:
    note = f"{shape[1]}x{shape[0]} px"
    if factor > 1:
        note += f", shown {factor}x{factor}-binned"
    return f"{_shorten(title, 60)}\n({note})"
