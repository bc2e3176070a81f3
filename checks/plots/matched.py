"""Positions of the matched sources of every fitted image."""
from __future__ import annotations

from typing import Sequence

from matplotlib import colormaps
from matplotlib.ticker import MaxNLocator

from hst_align_qa.checks.products import FitMatches
from ._base import DEFAULT_DPI, _FONT, _message_png, _new_figure, _render, _shorten
from ._matches import _match_arrays


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
