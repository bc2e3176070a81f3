"""Residual vector plot of a TweakReg fit."""
from __future__ import annotations

import math

import numpy as np
from matplotlib.ticker import MaxNLocator

from hst_align_qa.checks.products import FitMatches
from ._base import DEFAULT_DPI, _FONT, _fmt, _message_png, _new_figure, _render, _shorten
from ._matches import _chip_colours, _header, _match_arrays, _nice


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
