"""Vector figure of the offsets of a product's stars from Gaia (absolute_astrometry)."""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from ._base import DEFAULT_DPI, _FONT, _message_png, _new_figure, _render
from ._matches import _nice


def offset_vectors(vectors: Sequence[Sequence[float]], title: str,
                   details: Mapping[str, Any], *, dpi: int = DEFAULT_DPI) -> bytes:
    """Arrows ``(dRA*cos(Dec), dDec)`` (mas) at each star's place on the sky (arcsec
    east/north of the stars' centre), with the median offset drawn from the centre.

    Parameters
    ----------
    vectors : sequence of (east, north, dra, ddec)
        arcsec, arcsec, mas, mas.
    title : str
        Figure title.
    details : mapping
        The result's details (median offset, rms, frame).
    dpi : int
        Output resolution.

    Returns
    -------
    bytes
        PNG.
    """
    v = np.asarray(vectors, float).reshape(-1, 4)
    if v.shape[0] == 0:
        return _message_png(title, "no matched stars", dpi=dpi)
    x, y, dx, dy = v.T
    length = np.hypot(dx, dy)
    key = _nice(float(np.percentile(length, 90)) if np.any(length > 0) else 1.0)
    span = max(float(np.ptp(x)), float(np.ptp(y)), 1.0)
    arrow = min(1.4 * span / math.sqrt(v.shape[0]), 0.1 * span)
    scale = key / arrow  # mas per arcsec of arrow
    fig = _new_figure(6.4, 6.4, dpi)
    ax = fig.add_axes((0.12, 0.10, 0.84, 0.74))
    half = 0.5 * span * 1.15
    ax.update_datalim([(-half, -half), (half, half)])
    # east to the left, as on the sky (the x axis is inverted below)
    ax.quiver(x, y, dx, dy, color="#1f78b4", angles="xy", scale_units="xy", scale=scale,
              width=0.003)
    med = (float(details.get("dra_mas", 0.0)), float(details.get("ddec_mas", 0.0)))
    ax.quiver([0.0], [0.0], [med[0]], [med[1]], color="#e31a1c", angles="xy",
              scale_units="xy", scale=scale, width=0.006, label="median offset")
    ax.quiverkey(ax.collections[0], 0.85, 1.03, key, f"{key:g} mas", labelpos="E",
                 fontproperties={"size": _FONT})
    ax.set_xlim(half, -half)
    ax.set_ylim(-half, half)
    ax.set_xlabel("arcsec east", fontsize=_FONT)
    ax.set_ylabel("arcsec north", fontsize=_FONT)
    ax.tick_params(labelsize=_FONT)
    ax.legend(loc="lower left", fontsize=_FONT)
    fig.suptitle(f"{title}\nmedian ({med[0]:+.1f}, {med[1]:+.1f}) mas, rms "
                 f"{float(details.get('rms_mas', math.nan)):.1f} mas, frame "
                 f"{details.get('frame', '?')}", fontsize=_FONT)
    return _render(fig, dpi)
