"""Columns and statistics of TweakReg fit-match tables used by the fit figures."""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
from matplotlib import colormaps

from hst_align_qa.checks.products import FitMatches


def _column(fm: FitMatches, name: str, default: float | None = None) -> np.ndarray:
    """Column ``name`` of ``fm.table`` as a float array (masked values become NaN)."""
    values = fm.floats(name)
    if values is None:
        if default is None:
            raise KeyError(f"{fm.image}: match table has no column {name!r}")
        return np.full(len(fm.table), default, dtype=float)
    return values


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
