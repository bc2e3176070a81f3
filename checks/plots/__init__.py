"""Figures for the HTML report, drawn from parsed products and returned as PNG bytes.

Every public function here is pure: products (or arrays) in, ``bytes`` out. Nothing is
read from or written to disk, and pyplot's global state machine is never touched: each
figure is a stand-alone :class:`matplotlib.figure.Figure` rendered by its own
:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`, so importing this module
selects no backend, opens no window, registers no pyplot figure and is safe to call
from several threads at once.

Images are block-averaged (NaN-aware, see :func:`downsample`) to about the size they
are drawn at, and never more than ``max_side`` (default 1000) pixels on the long side,
before ``imshow``, which is slow on full-size arrays. Image figures are written as
palette (256-colour) PNGs with 64 grey levels, so even a noise-dominated drizzled image
stays near 110 kB at the default 90 dpi; plot figures are 20-100 kB.

Pixel coordinates of overlays are 0-based (numpy / ``world_to_pixel``) unless
``origin=1`` is given for FITS/TweakReg catalogue coordinates.

Empty inputs never raise: a figure with no matches, an image with no finite pixel or a
zero-size array gives a small PNG that says so.

The figures live in small modules (``residuals``, ``vectors``, ``image``, ``imprint``,
``matched``; ``binning``; shared pieces in ``_base``, ``_image``, ``_matches``).
"""
from __future__ import annotations

from ._base import DEFAULT_DPI, MAX_SIDE, PNG_MAGIC, to_data_uri
from .binning import downsample
from .image import image_png
from .imprint import imprint_map
from .matched import matched_sources_plot
from .residuals import residual_plot
from .vectors import vector_plot

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
