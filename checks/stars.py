"""Star-finding helpers shared by image checks (pure numpy/scipy on arrays)."""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

__all__ = ["MAD_TO_SIGMA", "disk_offsets", "background", "find_peaks", "refine"]

MAD_TO_SIGMA = 1.4826


def disk_offsets(r_in: float, r_out: float) -> tuple[np.ndarray, np.ndarray]:
    """Integer (dy, dx) offsets with ``r_in <= r <= r_out`` (``r_in < 0``: a full disk)."""
    n = int(math.ceil(r_out))
    dy, dx = np.mgrid[-n:n + 1, -n:n + 1]
    r = np.hypot(dx, dy)
    sel = (r <= r_out) & (r >= r_in)
    return dy[sel], dx[sel]


def background(sci: np.ndarray, valid: np.ndarray, seed: int) -> tuple[float, float]:
    """Median and MAD sigma of SCI over (a subsample of) the valid pixels."""
    values = sci[valid]
    if values.size > 2_000_000:
        values = np.random.default_rng(seed).choice(values, 2_000_000, replace=False)
    if values.size == 0:
        return math.nan, math.nan
    med = float(np.median(values))
    sigma = MAD_TO_SIGMA * float(np.median(np.abs(values - med)))
    # Clip sources once: the median of a crowded field is biased by star wings.
    sel = np.abs(values - med) < 5 * sigma if sigma > 0 else slice(None)
    med = float(np.median(values[sel]))
    sigma = MAD_TO_SIGMA * float(np.median(np.abs(values[sel] - med)))
    return med, sigma


def find_peaks(sci: np.ndarray, valid: np.ndarray, threshold: float,
               size: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Local maxima of ``sci`` above ``threshold`` (0-based ``x, y`` integer pixels).

    Parameters
    ----------
    sci : ndarray
        Image.
    valid : ndarray of bool
        Pixels that may hold a peak.
    threshold : float
        Minimum pixel value of a peak.
    size : int
        Side of the square neighbourhood a peak is the maximum of.

    Returns
    -------
    x, y : ndarray of int
    """
    data = np.where(valid, sci, -np.inf)
    peaks = (data == ndimage.maximum_filter(data, size=size, mode="constant",
                                            cval=-np.inf)) & (data > threshold)
    y, x = np.nonzero(peaks)
    return x, y


def refine(sci: np.ndarray, valid: np.ndarray, x: np.ndarray, y: np.ndarray,
            radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Move each position to the highest valid SCI pixel within ``radius``."""
    oy, ox = disk_offsets(-1.0, radius)
    ny, nx = sci.shape
    yy = np.clip(np.rint(y)[:, None].astype(int) + oy, 0, ny - 1)
    xx = np.clip(np.rint(x)[:, None].astype(int) + ox, 0, nx - 1)
    vals = np.where(valid[yy, xx], sci[yy, xx], -np.inf)
    best = np.argmax(vals, axis=1)
    rows = np.arange(x.size)
    return xx[rows, best], yy[rows, best]
