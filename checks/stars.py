"""Star-finding helpers shared by image checks (numpy, scipy, astropy, photutils)."""
from __future__ import annotations

import math
import warnings

import numpy as np
from astropy.stats import mad_std, sigma_clip
from photutils.detection import find_peaks as _find_peaks
from photutils.utils import NoDetectionsWarning
from scipy import ndimage

__all__ = ["disk_offsets", "background", "sampled_background", "find_peaks",
           "refine", "cutouts", "isolated", "nanmedian"]


def disk_offsets(r_in: float, r_out: float) -> tuple[np.ndarray, np.ndarray]:
    """Integer (dy, dx) offsets with ``r_in <= r <= r_out`` (``r_in < 0``: a full disk)."""
    n = int(math.ceil(r_out))
    dy, dx = np.mgrid[-n:n + 1, -n:n + 1]
    r = np.hypot(dx, dy)
    sel = (r <= r_out) & (r >= r_in)
    return dy[sel], dx[sel]


def background(sci: np.ndarray, valid: np.ndarray, seed: int) -> tuple[float, float]:
    """Median and MAD sigma of SCI over (a subsample of) the valid pixels.

    Parameters
    ----------
    sci : ndarray
        Image.
    valid : ndarray of bool
        Pixels to use (they must be finite).
    seed : int
        Seed of the random subsample of 2 million pixels (more valid pixels only).

    Returns
    -------
    sky, sigma : float
        Median and ``astropy.stats.mad_std`` of the valid pixels within 5 sigma of the
        median (NaN without valid pixels).
    """
    values = sci[valid]
    if values.size > 2_000_000:
        values = np.random.default_rng(seed).choice(values, 2_000_000, replace=False)
    if values.size == 0:
        return math.nan, math.nan
    # Clip sources once: the median of a crowded field is biased by star wings.
    kept = sigma_clip(values, sigma=5.0, maxiters=1, cenfunc="median", stdfunc="mad_std",
                      masked=False)
    return float(np.median(kept)), float(mad_std(kept))


def sampled_background(sci: np.ndarray, weight: np.ndarray | None = None, *,
                       nonzero: bool = False, max_pixels: int = 500_000,
                       seed: int = 0) -> tuple[float, float]:
    """:func:`background` of a regular grid of at most ``max_pixels`` pixels.

    Reads only every ``s``-th row and column of ``sci`` (a memory map stays mostly on
    disk). Valid pixels are finite, non-zero when ``nonzero``, and have a finite,
    positive ``weight`` when it is given.

    Parameters
    ----------
    sci : ndarray
        Image (a read-only memory map is fine).
    weight : ndarray, optional
        Weight image of the same shape.
    nonzero : bool
        Exactly-0 pixels (outside a footprint) are not valid.
    max_pixels : int
        Most pixels used.
    seed : int
        Passed to :func:`background`.

    Returns
    -------
    sky, sigma : float
    """
    step = max(1, math.ceil(math.sqrt(sci.size / max_pixels)))
    sub = np.asarray(sci[::step, ::step], dtype=float)
    valid = np.isfinite(sub)
    if nonzero:
        valid &= sub != 0
    if weight is not None:
        w = np.asarray(weight[::step, ::step], dtype=float)
        valid &= np.isfinite(w) & (w > 0)
    return background(sub, valid, seed)


def nanmedian(a: np.ndarray, axis: int) -> np.ndarray:
    """Median along ``axis`` ignoring NaN (NaN where none is finite), without warnings.

    Sort-based and vectorised: much faster than ``numpy.nanmedian`` along a short axis.
    """
    a = np.moveaxis(np.asarray(a, dtype=float), axis, 0)
    s = np.sort(a, axis=0)  # NaN last
    n = np.isfinite(s).sum(axis=0)
    lo = np.clip((n - 1) // 2, 0, None)[None]
    hi = np.clip(n // 2, 0, None)[None]
    med = 0.5 * (np.take_along_axis(s, lo, 0)[0] + np.take_along_axis(s, hi, 0)[0])
    return np.where(n > 0, med, np.nan)


def cutouts(img: np.ndarray, x: np.ndarray, y: np.ndarray, h: int,
            fill: float = np.nan) -> np.ndarray:
    """``(n, 2h+1, 2h+1)`` float cutouts centred on integer ``x, y`` (``fill`` off the image)."""
    g = np.arange(-h, h + 1)
    ny, nx = img.shape
    yy = np.asarray(y, dtype=int)[:, None, None] + g[None, :, None]
    xx = np.asarray(x, dtype=int)[:, None, None] + g[None, None, :]
    inside = (yy >= 0) & (yy < ny) & (xx >= 0) & (xx < nx)
    out = np.asarray(img[np.clip(yy, 0, ny - 1), np.clip(xx, 0, nx - 1)], dtype=float)
    return np.where(inside, out, fill)


def isolated(sci: np.ndarray, x: np.ndarray, y: np.ndarray, own: np.ndarray,
             threshold: float, radius: float, fraction: float, sky: float = 0.0,
             ) -> np.ndarray:
    """Stars with no other local maximum brighter than ``fraction * own`` nearby.

    The same answer as finding every local maximum (3x3, above ``threshold``) of the
    whole image with :func:`find_peaks` and looking within ``radius`` of each star, but
    only the pixels around the stars are read.

    Parameters
    ----------
    sci : ndarray
        Image; NaN and exactly-0 pixels hold no peak.
    x, y : ndarray of int
        Star pixels.
    own : ndarray
        Each star's own (sky-subtracted) peak value.
    threshold : float
        Minimum pixel value of a neighbouring peak.
    radius : float
        Search radius (px).
    fraction : float
        A neighbour brighter than ``fraction * own`` (sky-subtracted) makes a star crowded.
    sky : float
        Subtracted from neighbour peaks before comparing.

    Returns
    -------
    ndarray of bool
    """
    if x.size == 0:
        return np.zeros(0, bool)
    h = int(math.ceil(radius))
    cut = cutouts(sci, x, y, h + 1, fill=-np.inf)
    cut = np.where(np.isfinite(cut) & (cut != 0), cut, -np.inf)
    peak = (cut == ndimage.maximum_filter(cut, size=(1, 3, 3), mode="constant",
                                          cval=-np.inf)) & (cut > threshold)
    peak = peak[:, 1:-1, 1:-1]
    vals = cut[:, 1:-1, 1:-1] - sky
    g = np.arange(-h, h + 1)
    r = np.hypot(g[None, :], g[:, None])
    near = (r <= radius) & (r > 0)  # the star's own pixel is not a neighbour
    brightest = np.where(peak & near[None], vals, 0.0).reshape(x.size, -1).max(axis=1)
    return brightest <= fraction * own


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
        In row-major order (``y``, then ``x``).
    """
    data = np.where(valid, sci, -np.inf)
    if threshold < 0:  # photutils pads the border with 0: shift the threshold to 0
        data = data.astype(np.float64) - threshold
        threshold = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoDetectionsWarning)  # no peak: empty arrays
        table = _find_peaks(data, threshold, box_size=size)
    if table is None:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    return np.asarray(table["x_peak"], dtype=np.intp), np.asarray(table["y_peak"], dtype=np.intp)


def refine(sci: np.ndarray, valid: np.ndarray | None, x: np.ndarray, y: np.ndarray,
           radius: float, *, weight: np.ndarray | None = None,
           nonzero: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Move each position to the highest valid SCI pixel within ``radius``.

    ``valid`` is a boolean image, or ``None``: then only the pixels looked at are
    judged (finite, non-zero when ``nonzero``, finite positive ``weight`` when given),
    so a memory-mapped image is read only around the positions.
    """
    oy, ox = disk_offsets(-1.0, radius)
    ny, nx = sci.shape
    yy = np.clip(np.rint(y)[:, None].astype(int) + oy, 0, ny - 1)
    xx = np.clip(np.rint(x)[:, None].astype(int) + ox, 0, nx - 1)
    vals = np.asarray(sci[yy, xx], dtype=float)
    if valid is None:
        ok = np.isfinite(vals)
        if nonzero:
            ok &= vals != 0
        if weight is not None:
            w = np.asarray(weight[yy, xx], dtype=float)
            ok &= np.isfinite(w) & (w > 0)
    else:
        ok = valid[yy, xx]
    vals = np.where(ok, vals, -np.inf)
    best = np.argmax(vals, axis=1)
    rows = np.arange(x.size)
    return xx[rows, best], yy[rows, best]
