"""Shared pieces of the report figures: constants, rendering to (palette) PNG,
message figures, text and position helpers."""
from __future__ import annotations

import base64
import io
import math
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure



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
# zlib level of every PNG: level 1 instead of Pillow's 6 draws the figures faster for
# slightly larger files
_PNG_LEVEL = 1
_MARK_STYLES = (("x", "#e31a1c"), ("+", "#ff7f00"), ("D", "#e7298a"), ("s", "#ffff33"))


def _render(fig: Figure, dpi: int, *, keep: Sequence[object] | None = None) -> bytes:
    """Render ``fig`` with Agg and return PNG bytes (the figure is left to the garbage
    collector: clearing it is work that frees nothing sooner).

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
    if keep is None:
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white",
                    metadata={"Software": None}, pil_kwargs={"compress_level": _PNG_LEVEL})
    else:
        fig.set_dpi(dpi)
        canvas.draw()
        rgb = np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[..., :3])
        _write_palette_png(rgb, keep, buf)
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
    img.save(buf, format="PNG", compress_level=_PNG_LEVEL)


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


def _fmt(value: object, spec: str = ".3f") -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "n/a"
    if not math.isfinite(v):
        return "n/a"
    text = format(v, spec)
    return format(0.0, spec) if float(text) == 0.0 else text  # no "-0.000"


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
