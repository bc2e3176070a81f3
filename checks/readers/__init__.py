"""Readers: the only code that opens product files.

Every reader returns an immutable record of :mod:`checks.products` and raises only
:class:`ProductReadError` (a ``ValueError``) for a file it cannot parse, with a one-line
message that names the file and the problem, e.g.
``shift814.txt line 7: expected 7 columns (file xsh ysh rot scale xrms yrms), got 3``.
Its subclass :class:`NotHSTError` refuses FITS data that is not an HST imager the gate
knows (:func:`load_products` lets it through: the dataset is refused, not judged).
"""
from __future__ import annotations

from ..products import ProductPaths
from ._common import NotHSTError, ProductReadError
from .discover import find_products, load_products
from .images import read_drizzled, read_input_exposure, read_single
from .drizzle_log import read_drizzle_log
from .tweakreg_log import read_tweakreg_log
from .tables import read_fit_matches, read_shiftfile, read_sky_catalog

__all__ = [
    "ProductReadError", "NotHSTError", "ProductPaths", "read_shiftfile", "read_fit_matches",
    "read_tweakreg_log", "read_drizzle_log", "read_drizzled", "read_single",
    "read_input_exposure",
    "read_sky_catalog", "find_products", "load_products",
]
