"""Parsed, immutable products: what readers return and checks take.

Nothing here opens a file. :mod:`checks.readers` builds these records; checks receive
them as keyword arguments named after the :class:`Products` attributes.
Arrays are read-only views (``writeable=False``) or memory maps opened read-only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
from astropy.table import Table

__all__ = [
    "ShiftRow", "ShiftFile", "FitMatches", "ImageFit", "LogLine", "TweakRegRun", "TweakRegLog",
    "DrizzleLog", "DrizzledImage", "SingleDrizzled", "InputExposure", "SourceCatalog", "Context", "Products",
    "GaiaCatalog",
    "ProductPaths", "StaleProduct", "TWEAKREG_PRODUCTS", "AFTER_ALIGNMENT",
]

# Products attributes TweakReg writes (the readers find them in its shift file,
# *_catalog_fit.match, *_sky_catalog.coo and its runfile; "stale" are earlier attempts'
# shift and match files). The one place that says what the alignment produces.
TWEAKREG_PRODUCTS: frozenset[str] = frozenset(
    {"tweakreg_log", "shiftfiles", "fit_matches", "stale", "catalogs"})
# What a check can read once TweakReg has finished: its products, the input exposures'
# headers and the context told from them (instrument, detector, fit geometry). The rest
# (drizzle_log, drc, single) comes from AstroDrizzle.
AFTER_ALIGNMENT: frozenset[str] = TWEAKREG_PRODUCTS | {"inputs", "context"}


def file_name(path: str) -> str:
    """The file name of a product path as recorded (``/`` or ``\\`` separators)."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ShiftRow:
    """One line of a TweakReg shift file: ``file xsh ysh rot scale xrms yrms``."""

    image: str
    xsh: float
    ysh: float
    rot: float
    scale: float
    xrms: float
    yrms: float
    line: int  # 1-based line number in the file
    written: str = ""  # the image as the file names it, when that is not its file name

    @property
    def is_reference(self) -> bool:
        """TweakReg's row for its reference image: zero shift, rotation and RMS, unit
        scale."""
        rot = self.rot % 360.0
        return (self.xsh == 0.0 and self.ysh == 0.0 and min(rot, 360.0 - rot) == 0.0
                and self.scale == 1.0 and self.xrms == 0.0 and self.yrms == 0.0)


@dataclass(frozen=True)
class ShiftFile:
    """A TweakReg shift file (``frame``/``refimage``/``form``/``units`` from its header)."""

    name: str  # file name (no directory), used as subject prefix
    path: str
    frame: str
    refimage: str
    form: str
    units: str
    rows: tuple[ShiftRow, ...]
    # arcsec per pixel of the frame its shifts and rms are in (the reference image's WCS),
    # and where that was told ("" and None when it cannot be told); set by load_products
    frame_scale: float | None = None
    frame_scale_from: str = ""


@dataclass(frozen=True)
class FitMatches:
    """A ``*_catalog_fit.match`` file: matched sources with fit residuals.

    ``table`` columns (pixel units in the fit/output frame unless noted)::

        x_ref y_ref x_in y_in x_fit y_fit dx dy
        x_ref_orig y_ref_orig x_in_orig y_in_orig   (original, per-chip input pixels)
        ref_id in_id chip ra dec ref_source
    """

    image: str
    path: str
    header: Mapping[str, float]  # xrms, yrms, xsh, ysh, xscale, yscale, xrot, yrot, rot, skew
    table: Table

    def floats(self, name: str) -> np.ndarray | None:
        """Column ``name`` as a plain float array (masked entries NaN), or None when the
        table has no such column. Plain: numpy operations on astropy's ``Column`` carry
        its metadata along, which the figures do not need."""
        if self.table is None or name not in self.table.colnames:
            return None
        return np.asarray(np.ma.asarray(self.table[name]).astype(float).filled(np.nan))


@dataclass(frozen=True)
class ImageFit:
    """What the TweakReg log says about fitting one image (NaN when absent)."""

    image: str
    n_matches: int | None
    xrms: float
    yrms: float
    fitgeometry: str | None
    xsh: float = float("nan")
    ysh: float = float("nan")
    rot: float = float("nan")
    scale: float = float("nan")
    skew: float = float("nan")
    rmse: float = float("nan")
    mae: float = float("nan")
    n_sources: int | None = None
    failed: bool = False
    reason: str = ""
    extra: Mapping[str, float] = field(default_factory=dict)  # ROT_X, SCALE_Y, ...
    run: int = 0  # index of the TweakReg run in the log (0-based; a runfile may hold several)
    line: int = 0  # 1-based line where this image's fit starts in the log
    reference: str = ""  # reference image or catalog the image was matched to
    # "catalog" (a refcat: TweakReg's "with sources from reference catalog '...'") or
    # "image" ("reference image"); "" when the log does not say
    reference_kind: str = ""

    def __post_init__(self):
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))


@dataclass(frozen=True)
class LogLine:
    """A notable log line: ``level`` is ``"warn"``, ``"fail"`` or ``"superseded"`` (a
    failure of an earlier run that a later run's good fit replaced); ``run``: the index of
    the task's run it belongs to (see the log's ``spans``)."""

    path: str
    line: int
    level: str
    kind: str  # short key, e.g. "not-enough-matches", "sky-fallback"
    text: str
    run: int = 0


@dataclass(frozen=True)
class TweakRegRun:
    """One TweakReg invocation recorded in a runfile (TweakReg appends to it)."""

    index: int  # 0-based, in file order
    line: int  # 1-based line of its "TweakReg Version" banner
    version: str
    params: Mapping[str, str]  # the "USER INPUT PARAMETERS" it logged, as text
    images: tuple[str, ...]  # its "Finding shifts for:" list
    shiftfile: str = ""  # name from "Writing out shiftfile :"; "" if none was written
    completed: bool = False  # it reached "Trailer file written to:"
    # why it stopped before finishing: the exception that ended it (drizzlepac reports an
    # unhandled exception right after the trailer line) or TweakReg's quit message; ""
    # when it finished, or when the log was cut without saying why
    stopped: str = ""

    def __post_init__(self):
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def fitgeometry(self) -> str | None:
        return self.params.get("fitgeometry") or None


@dataclass(frozen=True)
class TweakRegLog:
    path: str
    # the fit lines' style: "3.x" ("FIT XRMS: a  FIT YRMS: b", drizzlepac 3 and TweakReg
    # 1.4.7 from late 2019) or "2019" ("XRMS: a  YRMS: b"); the version banner decides only
    # for a log without fit lines
    format: str
    version: str
    fits: tuple[ImageFit, ...]  # every fit of every run, in file order
    notable: tuple[LogLine, ...]
    runs: tuple[TweakRegRun, ...] = ()
    # (first line, "Trailer file written" line or None) of each run of the task; notable
    # lines come only from inside them
    spans: tuple[tuple[int, int | None], ...] = ()
    console: bool = False  # read from a console capture (no logger prefixes)

    @property
    def fitgeometry(self) -> str | None:
        """Fit geometry of the last run that logged one."""
        for run in reversed(self.runs):
            if run.fitgeometry:
                return run.fitgeometry
        for fit in reversed(self.fits):
            if fit.fitgeometry:
                return fit.fitgeometry
        return None

    def latest_fits(self) -> dict[str, ImageFit]:
        """The last fit (or failure) recorded for each image, keyed by image name."""
        return {fit.image: fit for fit in self.fits}


@dataclass(frozen=True)
class DrizzleLog:
    path: str
    version: str
    notable: tuple[LogLine, ...]
    params: Mapping[str, str] = field(default_factory=dict)  # "USER INPUT PARAMETERS", last wins
    instrument: str | None = None  # from static-mask names such as ACSWFC_2048x4096_1_...
    detector: str | None = None
    spans: tuple[tuple[int, int | None], ...] = ()  # as TweakRegLog.spans
    console: bool = False  # as TweakRegLog.console

    def __post_init__(self):
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))


@dataclass(frozen=True)
class DrizzledImage:
    """A drizzled ``_drc``/``_drz`` product: SCI, WHT (and CTX) read-only, with its WCS."""

    name: str
    path: str
    sci: np.ndarray
    wht: np.ndarray
    ctx: np.ndarray | None
    wcs: Any  # astropy.wcs.WCS of the SCI extension
    header: Mapping[str, Any]  # selected primary/SCI keywords (INSTRUME, DETECTOR, ...)


@dataclass(frozen=True)
class SingleDrizzled:
    """One input exposure drizzled alone by AstroDrizzle (``<rootname>_single_sci.fits``).

    Same output grid and WCS as the final product; not cosmic-ray cleaned.
    """

    name: str
    path: str
    rootname: str
    sci: np.ndarray  # read-only memory map
    wcs: Any  # astropy.wcs.WCS of the image
    expstart: float = float("nan")  # EXPSTART (MJD) of the exposure, from its header


@dataclass(frozen=True)
class InputExposure:
    """Header summary of one input exposure (notebook sections 1.1 and 1.2)."""

    name: str
    rootname: str
    asn_id: str
    targname: str
    instrument: str
    detector: str
    filter: str
    exptime: float
    ra_targ: float
    dec_targ: float
    date_obs: str
    postarg1: float
    postarg2: float
    orientat: float
    wcsname: str
    nmatches: int | None
    rms_ra: float  # mas on the sky (true angle); NaN when the header records no fit RMS
    rms_dec: float  # mas
    pixel_scale: float  # arcsec / pixel (IDCSCALE)
    wcstype: str = ""  # WCSTYPE, e.g. "undistorted a posteriori solution aligned ..."
    # Where rms_ra/rms_dec came from: "pipeline" (RMS_RA in mas, HAP align_utils),
    # "tweakreg" (RMS_RA in degrees of RA written by TweakReg updatehdr, converted), or "".
    rms_origin: str = ""
    idctab: str = ""  # IDCTAB, D2IMFILE, NPOLFILE as in the primary header ("N/A": none)
    d2imfile: str = ""
    npolfile: str = ""
    extensions: tuple[str, ...] = ()  # EXTNAMEs of the file's extensions, in order
    expstart: float = float("nan")  # EXPSTART, MJD of the exposure's start


@dataclass(frozen=True)
class StaleProduct:
    """A shift or match file from an earlier TweakReg attempt than the last one for its
    images (:mod:`hst_align_qa.checks.attempts`); set aside, never measured."""

    path: str
    kind: str  # the Products attribute it would have gone to: "shiftfiles", "fit_matches"
    reason: str  # names the file, what disagrees, and the attempts


@dataclass(frozen=True)
class SourceCatalog:
    """Sources of one image in sky coordinates (from TweakReg ``*_sky_catalog.coo``)."""

    image: str
    path: str
    ra: np.ndarray
    dec: np.ndarray
    flux: np.ndarray | None = None


@dataclass(frozen=True)
class GaiaCatalog:
    """Gaia sources of a dataset's field (``hst_align_qa.fixtures.sources.gaia``), or why
    there are none.

    ``table`` has the Gaia archive's ``gaia_source`` columns (``ra dec ra_error dec_error
    pmra pmdec parallax ruwe phot_g_mean_mag ref_epoch ...``; positions at ``ref_epoch``,
    a Julian year); ``None`` when the catalog could not be had, ``reason`` then says why
    in one line. ``origin`` says where it came from (service and cache entry).
    """

    table: Table | None
    release: str  # e.g. "Gaia DR3"
    origin: str
    reason: str = ""
    field: tuple[float, float, float] = (float("nan"),) * 3  # ra, dec, radius (deg)
    failed: bool = False  # the query was allowed (--remote-data) and failed


@dataclass(frozen=True)
class Context:
    """What thresholds depend on."""

    instrument: str | None = None
    detector: str | None = None
    fitgeometry: str | None = None
    # arcsec/pixel of the input detector, when known from headers and the same for all inputs
    pixel_scale: float | None = None


@dataclass(frozen=True)
class Products:
    """Everything parsed for one dataset. Absent products are ``None`` or empty."""

    shiftfiles: tuple[ShiftFile, ...] = ()
    fit_matches: tuple[FitMatches, ...] = ()
    tweakreg_log: TweakRegLog | None = None
    drizzle_log: DrizzleLog | None = None
    drc: DrizzledImage | None = None
    inputs: tuple[InputExposure, ...] = ()
    catalogs: tuple[SourceCatalog, ...] = ()
    single: tuple[SingleDrizzled, ...] = ()
    context: Context = field(default_factory=Context)
    # attribute -> why a file of that kind could not be read ("<file>: <problem>"); the
    # attribute then holds what could be read (None or the readable files)
    unreadable: Mapping[str, str] = field(default_factory=dict)
    # shift and match files of an earlier attempt, left out of shiftfiles/fit_matches
    stale: tuple[StaleProduct, ...] = ()
    # the field's Gaia sources, attached after reading (hst_align_qa.fixtures.sources.gaia)
    gaia: GaiaCatalog | None = None

    def __post_init__(self):
        object.__setattr__(self, "unreadable", MappingProxyType(dict(self.unreadable)))


@dataclass(frozen=True)
class ProductPaths:
    """Files of one products directory, sorted by kind (found by content, not only name)."""

    directory: str
    shiftfiles: tuple[str, ...] = ()
    fit_matches: tuple[str, ...] = ()
    tweakreg_logs: tuple[str, ...] = ()
    drizzle_logs: tuple[str, ...] = ()
    drizzled: tuple[str, ...] = ()  # *_drc.fits / *_drz.fits
    inputs: tuple[str, ...] = ()  # *_flc.fits / *_flt.fits
    catalogs: tuple[str, ...] = ()  # *_sky_catalog.coo
    singles: tuple[str, ...] = ()  # *_single_sci.fits
