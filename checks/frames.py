"""Pixel scales a ``*_catalog_fit.match`` file implies, from its own positions.

Each matched source has its position in the fit (reference) frame (``x_ref, y_ref``), in
its own input chip (``x_in_orig, y_in_orig``) and on the sky (``ra, dec`` of the fit). A
linear fit of the sky positions' tangent-plane offsets against either set of pixel
positions gives that frame's scale in arcsec/px (the square root of the fitted CD
matrix's determinant): the fit frame's scale says what a shift-file pixel is (the
reference may be another detector's drizzled mosaic), the input's says which detector
took the image.
"""
from __future__ import annotations

import math

import numpy as np

from .products import FitMatches

__all__ = ["fit_frame_scale", "input_scale"]

_MIN_SOURCES = 6


def _columns(fm: FitMatches, *names: str) -> list[np.ndarray] | None:
    cols = [fm.floats(n) for n in names]
    return None if any(c is None for c in cols) else cols


def _scale(x: np.ndarray, y: np.ndarray, ra: np.ndarray, dec: np.ndarray) -> float | None:
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(ra) & np.isfinite(dec)
    if ok.sum() < _MIN_SOURCES:
        return None
    x, y, ra, dec = x[ok], y[ok], ra[ok], dec[ok]
    ra0, dec0 = np.deg2rad(np.median(ra)), np.deg2rad(np.median(dec))
    r, d = np.deg2rad(ra), np.deg2rad(dec)
    cos_c = np.sin(dec0) * np.sin(d) + np.cos(dec0) * np.cos(d) * np.cos(r - ra0)
    xi = np.cos(d) * np.sin(r - ra0) / cos_c  # gnomonic projection, radians
    eta = (np.cos(dec0) * np.sin(d) - np.sin(dec0) * np.cos(d) * np.cos(r - ra0)) / cos_c
    design = np.column_stack([x - x.mean(), y - y.mean(), np.ones_like(x)])
    (a, b, _), *_ = np.linalg.lstsq(design, xi, rcond=None)
    (c, e, _), *_ = np.linalg.lstsq(design, eta, rcond=None)
    det = abs(a * e - b * c)
    if not (math.isfinite(det) and det > 0):
        return None
    return float(np.degrees(math.sqrt(det)) * 3600.0)


def fit_frame_scale(fm: FitMatches) -> float | None:
    """arcsec per pixel of the frame TweakReg fitted in (``x_ref, y_ref``), or None."""
    cols = _columns(fm, "x_ref", "y_ref", "ra", "dec")
    return None if cols is None else _scale(*cols)


def input_scale(fm: FitMatches) -> float | None:
    """arcsec per pixel of the input image's own chips (median over chips), or None.

    Raw chip pixels carry the detector's distortion: the scale is within ~10% of the
    nominal one (WFC3/UVIS 0.036 for 0.0396), enough to tell detectors apart.
    """
    cols = _columns(fm, "x_in_orig", "y_in_orig", "ra", "dec")
    if cols is None:
        return None
    chip = _columns(fm, "chip")
    chips = chip[0] if chip is not None else np.ones_like(cols[0])
    scales = [s for c in np.unique(chips[np.isfinite(chips)])
              if (s := _scale(*(v[chips == c] for v in cols))) is not None]
    return float(np.median(scales)) if scales else None
