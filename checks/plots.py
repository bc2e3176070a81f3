"""Figures for the HTML report, drawn from parsed products and returned as PNG bytes.

Every public function here is pure: products (or arrays) in, ``bytes`` out. Nothing is
read from or written to disk, and pyplot's global state machine is never touched: each
figure is a stand-alone :class:`matplotlib.figure.Figure` rendered by its own
:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`, so importing this module
selects no backend, opens no window, registers no pyplot figure and is safe to call
from several threads at once.

Images are block-averaged (NaN-aware, see :func:`downsample`) to about the size they
are drawn at, and never more than ``max_side`` (default 1000) pixels on the long side,
before ``imshow``: a 4200x4200 float32 array takes ~0.2 s. Image figures are written as
palette (256-colour) PNGs with 64 grey levels, so even a noise-dominated drizzled image
stays near 110 kB at the default 90 dpi; plot figures are 20-100 kB.

Pixel coordinates of overlays are 0-based (numpy / ``world_to_pixel``) unless
``origin=1`` is given for FITS/TweakReg catalogue coordinates.

Empty inputs never raise: a figure with no matches, an image with no finite pixel or a
zero-size array gives a small PNG that says so.
"""
from __future__ import annotations

import base64
import io
import math
from typing import Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Colormap, ListedColormap, TwoSlopeNorm, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from checks.products import FitMatches

__all__ = [
    "DEFAULT_DPI",
    "MAX_SIDE",
    "PNG_MAGIC",
    "residual_plot",
    "vector_plot",
    "image_png",
    "imprint_map",
    "matched_sources_plot",
    "downsample",
    "to_data_uri",
]

DEFAULT_DPI = 90
"""Resolution of every figure unless a ``dpi`` keyword says otherwise."""

MAX_SIDE = 1000
"""Longest side, in pixels, of an image after :func:`downsample` (before ``imshow``)."""

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
"""The eight bytes every PNG file starts with."""

_FONT = 8
_NAN_COLOUR = "#9ecae1"  # light blue: NaN / non-finite pixels in image figures
_GREY_LEVELS = 64  # image grey levels: plenty for display, and palette PNGs stay small
_RATIO_LEVELS = 16  # discrete colours of the WHT-ratio map
_SOURCE_COLOUR = "#31e831"
_MARK_STYLES = (("x", "#e31a1c"), ("+", "#ff7f00"), ("D", "#e7298a"), ("s", "#ffff33"))


# --------------------------------------------------------------------------- helpers
def _render(fig: Figure, dpi: int, *, keep: Sequence[object] | None = None) -> bytes:
    """Render ``fig`` with Agg and return PNG bytes; the figure is cleared afterwards.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure created with ``Figure(...)`` (never through pyplot).
    dpi : int
        Output resolution.
    keep : sequence of matplotlib colours, optional
        If given, write a 256-colour palette PNG (several times smaller for noisy
        images): the palette holds these colours exactly, then the most frequent other
        colours of the rendering; any remaining pixel (anti-aliased edges) takes the
        nearest palette colour. Lossless when the figure has <= 256 colours.
    """
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    buf = io.BytesIO()
    try:
        if keep is None:
            fig.savefig(buf, format="png", dpi=dpi, facecolor="white",
                        metadata={"Software": None})
        else:
            fig.set_dpi(dpi)
            canvas.draw()
            rgb = np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[..., :3])
            _write_palette_png(rgb, keep, buf)
    finally:
        fig.clear()
    return buf.getvalue()


def _write_palette_png(rgb: np.ndarray, keep: Sequence[object], buf: io.BytesIO) -> None:
    from PIL import Image  # Pillow is a hard dependency of matplotlib

    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) \
        | rgb[..., 2].astype(np.uint32)
    values, counts = np.unique(packed, return_counts=True)
    fixed = [0xFFFFFF, 0x000000]
    for colour in keep:
        r, g, b = (int(round(255 * c)) for c in to_rgb(colour))  # type: ignore[arg-type]
        fixed.append((r << 16) | (g << 8) | b)
    fixed = list(dict.fromkeys(fixed))[:256]
    if values.size <= 256:
        chosen = values.tolist()
    else:
        others = values[np.argsort(counts, kind="stable")[::-1]]
        others = others[~np.isin(others, fixed)][: 256 - len(fixed)]
        chosen = fixed + others.tolist()
    flat: list[int] = []
    for v in chosen:
        flat += [(v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF]
    flat += [0] * (768 - len(flat))
    pal = Image.new("P", (1, 1))
    pal.putpalette(flat)
    img = Image.fromarray(rgb, mode="RGB").quantize(palette=pal, dither=Image.Dither.NONE)
    img.save(buf, format="PNG", compress_level=6)


def _new_figure(width: float, height: float, dpi: int) -> Figure:
    fig = Figure(figsize=(width, height), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _message_png(title: str, message: str, *, dpi: int = DEFAULT_DPI) -> bytes:
    """A small figure holding only ``title`` and ``message`` (for empty inputs)."""
    fig = _new_figure(5.0, 1.6, dpi)
    fig.text(0.5, 0.72, _shorten(title, 70), ha="center", va="center", fontsize=_FONT + 2,
             weight="bold")
    fig.text(0.5, 0.35, message, ha="center", va="center", fontsize=_FONT + 3, color="#a50f15")
    return _render(fig, dpi)


def _shorten(text: str, width: int) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 3] + "..."


def _column(fm: FitMatches, name: str, default: float | None = None) -> np.ndarray:
    """Column ``name`` of ``fm.table`` as a float array (masked values become NaN)."""
    table = fm.table
    if name not in table.colnames:
        if default is None:
            raise KeyError(f"{fm.image}: match table has no column {name!r}")
        return np.full(len(table), default, dtype=float)
    return np.ma.asarray(table[name]).astype(float).filled(np.nan)


def _match_arrays(fm: FitMatches) -> dict[str, np.ndarray]:
    """``x y dx dy chip`` of the rows whose positions and residuals are all finite."""
    if fm.table is None or len(fm.table) == 0:
        empty = np.empty(0)
        return {"x": empty, "y": empty, "dx": empty, "dy": empty, "chip": empty}
    out = {
        "x": _column(fm, "x_ref"),
        "y": _column(fm, "y_ref"),
        "dx": _column(fm, "dx"),
        "dy": _column(fm, "dy"),
        "chip": _column(fm, "chip", default=1.0),
    }
    good = np.ones(len(out["x"]), dtype=bool)
    for key in ("x", "y", "dx", "dy"):
        good &= np.isfinite(out[key])
    out["chip"] = np.where(np.isfinite(out["chip"]), out["chip"], 0.0)
    return {k: v[good] for k, v in out.items()}


def _header(fm: FitMatches) -> Mapping[str, float]:
    return fm.header if fm.header is not None else {}


def _fmt(value: object, spec: str = ".3f") -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "n/a"
    if not math.isfinite(v):
        return "n/a"
    text = format(v, spec)
    return format(0.0, spec) if float(text) == 0.0 else text  # no "-0.000"


def _chip_colours(chips: np.ndarray) -> dict[int, str]:
    cmap = colormaps["tab10"]
    return {int(c): cmap(i % 10) for i, c in enumerate(np.unique(chips.astype(int)))}


def _robust_sigma(values: np.ndarray) -> float:
    if values.size == 0:
        return 0.0
    med = np.median(values)
    return float(1.4826 * np.median(np.abs(values - med)))


def _nice(value: float) -> float:
    """Round ``value`` > 0 to 1, 2 or 5 times a power of ten (for scale keys)."""
    if not math.isfinite(value) or value <= 0:
        return 0.1
    exp = math.floor(math.log10(value))
    base = value / 10**exp
    step = 1.0 if base < 1.5 else 2.0 if base < 3.5 else 5.0 if base < 7.5 else 10.0
    return step * 10**exp


def _running_median(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Medians of ``y`` in equal-count bins of ``x`` (3 to 12 bins, >= 5 points each)."""
    n = x.size
    if n < 15:
        return np.empty(0), np.empty(0)
    nbins = int(np.clip(n // 20, 3, 12))
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    xm, ym = [], []
    for chunk in np.array_split(np.arange(n), nbins):
        if chunk.size >= 5:
            xm.append(np.median(xs[chunk]))
            ym.append(np.median(ys[chunk]))
    return np.asarray(xm), np.asarray(ym)


def _as_xy(positions: object, origin: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` (two sequences, or an ``(N, 2)`` array) as 0-based float arrays.

    A ``(2, 2)`` array is ambiguous and read as ``(x, y)`` rows.
    """
    if positions is None:
        return np.empty(0), np.empty(0)
    arr = positions
    if isinstance(arr, np.ndarray) and arr.ndim == 2 and arr.shape[1] == 2 and arr.shape[0] != 2:
        x, y = arr[:, 0], arr[:, 1]
    else:
        x, y = arr  # type: ignore[misc]
    x = np.atleast_1d(np.asarray(x, dtype=float)).ravel() - origin
    y = np.atleast_1d(np.asarray(y, dtype=float)).ravel() - origin
    if x.shape != y.shape:
        raise ValueError(f"x and y positions differ in length: {x.size} != {y.size}")
    return x, y


# ------------------------------------------------------------------ image handling
def downsample(data: np.ndarray, max_side: int = MAX_SIDE) -> tuple[np.ndarray, int]:
    """Block-average a 2-D image so that its long side is at most ``max_side`` pixels.

    Non-finite pixels are ignored in each block; a block with no finite pixel is NaN
    (without a warning). Blocks at the top/right edge that are cut by the image border
    average the pixels they have.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image (any real dtype; read-only and memory-mapped arrays are fine).
    max_side : int
        Largest allowed size of the output on either axis.

    Returns
    -------
    small : numpy.ndarray
        ``float32`` image of shape ``(ceil(ny / factor), ceil(nx / factor))``; a new
        array (never a view of ``data``).
    factor : int
        Block size; output pixel ``(j, i)`` covers input pixels
        ``[j*factor:(j+1)*factor, i*factor:(i+1)*factor]``.
    """
    a = np.asarray(data)
    if a.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {a.shape}")
    if max_side < 1:
        raise ValueError("max_side must be >= 1")
    ny, nx = a.shape
    factor = max(1, math.ceil(max(ny, nx) / max_side))
    if factor == 1:
        return np.array(a, dtype=np.float32), 1
    by, bx = -(-ny // factor), -(-nx // factor)  # ceil: partial edge blocks are kept
    floating = np.issubdtype(a.dtype, np.floating)
    # Sum every factor-th row into block rows, then every factor-th column into blocks:
    # passes over strided slices, much faster than summing a 4-D reshape.
    acc = np.zeros((by, nx), dtype=np.float32)
    cnt = np.zeros((by, nx), dtype=np.uint16)
    for k in range(min(factor, ny)):
        row = a[k::factor]
        if not floating:
            row = row.astype(np.float32)
        good = np.isfinite(row)
        m = row.shape[0]
        acc[:m] += np.where(good, row, np.float32(0))
        cnt[:m] += good
    sums = np.zeros((by, bx), dtype=np.float32)
    counts = np.zeros((by, bx), dtype=np.uint32)
    for k in range(min(factor, nx)):
        m = acc[:, k::factor].shape[1]
        sums[:, :m] += acc[:, k::factor]
        counts[:, :m] += cnt[:, k::factor]
    small = np.full((by, bx), np.nan, dtype=np.float32)
    np.divide(sums, counts, out=small, where=counts > 0)
    return small, factor


def _limits(finite: np.ndarray, stretch: str) -> tuple[float, float]:
    from astropy.visualization import AsymmetricPercentileInterval, ZScaleInterval

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
    from astropy.visualization import ImageNormalize, LinearStretch

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


# --------------------------------------------------------------------------- figures
def residual_plot(fm: FitMatches, *, dpi: int = DEFAULT_DPI) -> bytes:
    """TweakReg-style residual plot: ``dx``/``dy`` against ``x``/``y``, 2x2 panels.

    ``x``/``y`` are the reference positions in the fit frame (``x_ref``, ``y_ref``).
    Points are coloured by chip; a black line joins the medians of equal-count bins
    along the abscissa so that systematic trends (rotation, scale, chip offsets) stand
    out. The residual axis is shared by all panels and clipped robustly (at most
    5 robust sigma); residuals beyond it are drawn as triangles at the edge.

    Parameters
    ----------
    fm : FitMatches
        One parsed ``*_catalog_fit.match`` file; ``fm.header`` supplies ``xrms``/``yrms``.
    dpi : int
        Output resolution.

    Returns
    -------
    bytes
        PNG image. With no usable match a small figure saying "no matches".
    """
    d = _match_arrays(fm)
    n = d["x"].size
    head = (f"{_shorten(fm.image, 50)}: fit residuals of {n} matches  |  TweakReg "
            f"xrms={_fmt(_header(fm).get('xrms'))} yrms={_fmt(_header(fm).get('yrms'))} px")
    if n == 0:
        return _message_png(f"{fm.image}: fit residuals", "no matches", dpi=dpi)

    both = np.concatenate([d["dx"], d["dy"]])
    peak = float(np.max(np.abs(both)))
    robust = 5.0 * _robust_sigma(both) + abs(float(np.median(both)))
    lim = max(min(1.1 * peak, robust) if robust > 0 else 1.1 * peak, 0.01)
    n_clipped = int(np.sum(np.abs(both) > lim))

    colours = _chip_colours(d["chip"])
    chip_of = d["chip"].astype(int)
    fig = _new_figure(8.0, 6.0, dpi)
    axes = fig.subplots(2, 2, sharey=True, sharex="col",
                        gridspec_kw={"hspace": 0.08, "wspace": 0.06})
    fig.subplots_adjust(left=0.09, right=0.98, top=0.86, bottom=0.09)
    panels = [("x", "dx"), ("y", "dx"), ("x", "dy"), ("y", "dy")]
    msize = 3.0 if n < 300 else 2.2
    for ax, (xk, yk) in zip(axes.flat, panels):
        xv, yv = d[xk], d[yk]
        ax.axhline(0.0, color="0.45", lw=0.8, zorder=1)
        for chip, colour in colours.items():
            sel = chip_of == chip
            xc, yc = xv[sel], yv[sel]
            inside = np.abs(yc) <= lim
            # Line2D markers draw much faster than scatter collections
            ax.plot(xc[inside], yc[inside], ls="", marker="o", ms=msize, mew=0,
                    color=colour, alpha=0.8, zorder=2)
            for side, marker in ((1.0, "^"), (-1.0, "v")):
                out = side * yc > lim
                if np.any(out):
                    ax.plot(xc[out], np.full(int(out.sum()), side * lim), ls="",
                            marker=marker, ms=5, color=colour, mec="k", mew=0.4,
                            clip_on=False, zorder=4)
        xm, ym = _running_median(xv, yv)
        if xm.size:
            ax.plot(xm, np.clip(ym, -lim, lim), color="k", lw=1.6, marker="o", ms=3,
                    zorder=5)
        ax.set_ylim(-lim * 1.04, lim * 1.04)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.yaxis.set_major_locator(MaxNLocator(5, symmetric=True))
        ax.tick_params(labelsize=_FONT - 1)
    for ax, label in zip(axes[1], ("X (fit frame, px)", "Y (fit frame, px)")):
        ax.set_xlabel(label, fontsize=_FONT)
    axes[0, 0].set_ylabel("DX residual (px)", fontsize=_FONT)
    axes[1, 0].set_ylabel("DY residual (px)", fontsize=_FONT)

    sub = (f"std dx={_fmt(np.std(d['dx']))} dy={_fmt(np.std(d['dy']))} px (measured); "
           f"black: running median")
    if n_clipped:
        sub += f"; {n_clipped} value(s) beyond +/-{lim:.3g} px drawn as triangles"
    fig.suptitle(head, fontsize=_FONT + 2, y=0.975)
    fig.text(0.5, 0.915, sub, ha="center", fontsize=_FONT - 0.5, color="0.25")
    if len(colours) > 1 or next(iter(colours)) != 1:
        handles = [Line2D([], [], ls="", marker="o", ms=5, color=c, label=f"chip {k}")
                   for k, c in colours.items()]
        fig.legend(handles=handles, loc="upper right", fontsize=_FONT - 1, frameon=False,
                   ncol=min(len(handles), 4), bbox_to_anchor=(0.99, 0.905))
    return _render(fig, dpi)


def vector_plot(fm: FitMatches, *, dpi: int = DEFAULT_DPI) -> bytes:
    """TweakReg-style vector plot: residual arrows ``(dx, dy)`` at ``(x_ref, y_ref)``.

    Arrows are magnified so that the scale-key length (a 1/2/5 value near the 90th
    percentile of ``|d|``) spans a tenth of the field; the key reads e.g. "0.05 px".
    Arrows are coloured by chip.

    Parameters
    ----------
    fm : FitMatches
        One parsed ``*_catalog_fit.match`` file.
    dpi : int
        Output resolution.

    Returns
    -------
    bytes
        PNG image ("no matches" figure when the table is empty).
    """
    d = _match_arrays(fm)
    n = d["x"].size
    if n == 0:
        return _message_png(f"{fm.image}: residual vectors", "no matches", dpi=dpi)
    x, y, dx, dy = d["x"], d["y"], d["dx"], d["dy"]
    length = np.hypot(dx, dy)
    typical = float(np.percentile(length, 90)) if np.any(length > 0) else 0.0
    key = _nice(typical)
    span = max(float(np.ptp(x)), float(np.ptp(y)), 1.0)
    # A typical (90th percentile) arrow is about 1.4 mean source spacings long, and
    # never longer than a tenth of the field, so dense fields stay readable.
    arrow = min(1.4 * span / math.sqrt(n), 0.1 * span)
    scale = max(typical, key * 0.5) / arrow  # residual px per data px of arrow length

    fig = _new_figure(6.4, 6.4, dpi)
    ax = fig.add_axes((0.12, 0.10, 0.84, 0.74))
    colours = _chip_colours(d["chip"])
    pad = 0.08 * span
    cx, cy = 0.5 * (x.min() + x.max()), 0.5 * (y.min() + y.max())
    half = 0.5 * span + pad  # square data window: equal aspect without adjustable limits
    # quiver derives its epsilon from the data limits: make them non-degenerate
    ax.update_datalim([(cx - half, cy - half), (cx + half, cy + half)])
    q = None
    for chip, colour in colours.items():
        sel = d["chip"].astype(int) == chip
        q = ax.quiver(x[sel], y[sel], dx[sel], dy[sel], color=colour, angles="xy",
                      scale_units="xy", scale=scale, width=0.003, headwidth=3.5,
                      headlength=4, headaxislength=3.5, label=f"chip {chip}")
    assert q is not None
    ax.quiverkey(q, X=0.80, Y=1.03, U=key, label=f"{key:g} px", labelpos="E",
                 coordinates="axes", color="#800000", labelcolor="#800000",
                 fontproperties={"size": _FONT + 1})
    ax.set_xlim(cx - half, cx + half)
    ax.set_ylim(cy - half, cy + half)
    ax.set_aspect("equal", adjustable="box")
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.yaxis.set_major_locator(MaxNLocator(6))
    ax.set_xlabel("X (fit frame, px)", fontsize=_FONT)
    ax.set_ylabel("Y (fit frame, px)", fontsize=_FONT)
    ax.tick_params(labelsize=_FONT - 1)
    if len(colours) > 1:
        ax.legend(loc="lower right", fontsize=_FONT - 1, framealpha=0.7)
    fig.suptitle(f"{_shorten(fm.image, 50)}: residual vectors of {n} matches",
                 fontsize=_FONT + 2, y=0.975)
    fig.text(0.5, 0.915,
             f"mean dx={_fmt(dx.mean(), '+.3f')} dy={_fmt(dy.mean(), '+.3f')} px; "
             f"TweakReg xrms={_fmt(_header(fm).get('xrms'))} "
             f"yrms={_fmt(_header(fm).get('yrms'))} px; max |d|={_fmt(length.max())} px",
             ha="center", fontsize=_FONT, color="0.25")
    return _render(fig, dpi)


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


def matched_sources_plot(fm_list: Sequence[FitMatches], *, title: str | None = None,
                         dpi: int = DEFAULT_DPI) -> bytes:
    """Matched sources of every image over the field (``x_ref``, ``y_ref``), one colour each.

    Shows coverage: which parts of the reference frame each image's fit is based on and
    whether some image was matched only in a corner or on one chip.

    Parameters
    ----------
    fm_list : sequence of FitMatches
        The parsed ``*_catalog_fit.match`` files of one TweakReg run.
    title : str, optional
        Figure title (default: a summary of images and matches).
    dpi : int
        Output resolution.

    Returns
    -------
    bytes
        PNG image ("no matches" figure when every table is empty).
    """
    fms = list(fm_list)
    data = [(fm, _match_arrays(fm)) for fm in fms]
    total = sum(d["x"].size for _, d in data)
    head = title or f"Matched sources in the reference frame: {len(fms)} images, {total} matches"
    if total == 0:
        return _message_png(head, "no matches", dpi=dpi)
    n_img = len(fms)
    ncol = 1 if n_img <= 26 else 2
    fig = _new_figure(7.4 + 1.6 * (ncol - 1), 6.0, dpi)
    right = 0.70 - 0.12 * (ncol - 1)
    ax = fig.add_axes((0.09, 0.09, right - 0.09, 0.80))
    cmap = colormaps["tab10"]
    markers = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h"]
    size = 3.5 if total < 2000 else 2.5
    for i, (fm, d) in enumerate(data):
        colour = cmap(i % 10)  # ten colours, then the next marker shape
        marker = markers[(i // 10) % len(markers)]
        label = f"{_shorten(fm.image, 28)} ({d['x'].size})"
        ax.plot(d["x"], d["y"], ls="", marker=marker, ms=size, mew=0, color=colour,
                alpha=0.8, label=label)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("X (reference frame, px)", fontsize=_FONT)
    ax.set_ylabel("Y (reference frame, px)", fontsize=_FONT)
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.yaxis.set_major_locator(MaxNLocator(6))
    ax.tick_params(labelsize=_FONT - 1)
    fontsize = _FONT - 1 if n_img <= 20 else _FONT - 2
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=fontsize, ncol=ncol,
              frameon=False, markerscale=2.0, handletextpad=0.3, borderaxespad=0.0)
    ax.set_title(_shorten(head, 90), fontsize=_FONT + 1)
    return _render(fig, dpi)


def to_data_uri(png: bytes) -> str:
    """Embed PNG bytes in HTML: ``"data:image/png;base64,..."``.

    Parameters
    ----------
    png : bytes
        A PNG file's content (as returned by the functions of this module).

    Returns
    -------
    str
        A ``data:`` URI usable as an ``<img src=...>``.

    Raises
    ------
    ValueError
        If ``png`` does not start with the PNG signature.
    """
    raw = bytes(png)
    if not raw.startswith(PNG_MAGIC):
        raise ValueError("to_data_uri: not PNG data (missing PNG signature)")
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")
