"""Residual plot of a TweakReg fit (``*_catalog_fit.match``)."""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from hst_align_qa.checks.products import FitMatches
from ._base import DEFAULT_DPI, _FONT, _fmt, _message_png, _new_figure, _render, _shorten
from ._matches import _chip_colours, _header, _match_arrays, _robust_sigma, _running_median


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
