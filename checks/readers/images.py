"""Readers of FITS products: drizzled ``_drc``/``_drz`` images and input ``_flc``/``_flt``."""
from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS

from ..detectors import detectors, hst_imager
from ..products import DrizzledImage, InputExposure, SingleDrizzled
from ._common import NotHSTError, ProductReadError

__all__ = ["read_drizzled", "read_single", "read_input_exposure", "NOMINAL_SCALE"]

# arcsec/pixel of the distortion-free frame (IDCSCALE of the current IDCTABs)
NOMINAL_SCALE = {tuple(name.split("/")): d.plate_scale for name, d in detectors().items()}
"""arcsec/px by (INSTRUME, DETECTOR), from ``checks/detectors.toml``."""
_DRC_KEYS = ("INSTRUME", "DETECTOR", "FILTER", "FILTER1", "FILTER2", "TARGNAME",
             "EXPTIME", "NDRIZIM", "BUNIT", "EXPSTART", "EXPEND")
_FITS_ERRORS = (OSError, ValueError, KeyError, IndexError, TypeError)
_DTYPES = {8: "u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


def _memmap(path: Path, hdul: fits.HDUList, index: int) -> np.ndarray | None:
    """A read-only ``numpy.memmap`` of an unscaled image HDU (None when it has no data)."""
    header = hdul[index].header
    naxis = header.get("NAXIS", 0)
    shape = tuple(header.get(f"NAXIS{i}", 0) for i in range(naxis, 0, -1))
    if naxis == 0 or 0 in shape:
        return None
    if header.get("BSCALE", 1) != 1 or header.get("BZERO", 0) != 0:
        data = np.array(hdul[index].data)  # scaled data cannot be mapped as stored
        data.flags.writeable = False
        return data
    offset = hdul.fileinfo(index)["datLoc"]
    return np.memmap(path, dtype=_DTYPES[header["BITPIX"]], mode="r", offset=offset,
                     shape=shape)


def read_drizzled(path: str | os.PathLike) -> DrizzledImage:
    """Open an AstroDrizzle ``_drc``/``_drz`` product (``build=True``: SCI, WHT, CTX).

    Parameters
    ----------
    path : str or path-like
        The drizzled file.

    Returns
    -------
    DrizzledImage
        ``sci``, ``wht`` (and ``ctx`` when present) are read-only memory maps; the file is
        not held open. ``wcs`` is the SCI extension's WCS; ``header`` holds INSTRUME,
        DETECTOR, FILTER/FILTER1/FILTER2, TARGNAME, EXPTIME, NDRIZIM and BUNIT
        (primary header first, then SCI).

    Raises
    ------
    ProductReadError
        If the file is not FITS, or has no SCI or WHT image extension.
    """
    path = Path(path)
    try:
        with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
            names = [h.name for h in hdul]
            for ext in ("SCI", "WHT"):
                if ext not in names:
                    raise ProductReadError(path, f"has no {ext} extension "
                                           "(not an AstroDrizzle build=True product)")
            arrays = {ext: _memmap(path, hdul, names.index(ext)) if ext in names else None
                      for ext in ("SCI", "WHT", "CTX")}
            sci_header = hdul["SCI"].header
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AstropyWarning)
                wcs = WCS(sci_header)
            header = _pick(_DRC_KEYS, hdul[0].header, sci_header)
            telescope = str(_pick(("TELESCOP",), hdul[0].header, sci_header).get(
                "TELESCOP", ""))
    except ProductReadError:
        raise
    except _FITS_ERRORS as exc:
        raise ProductReadError(path, f"cannot be read as FITS: {exc}") from None
    if arrays["SCI"] is None or arrays["WHT"] is None:
        raise ProductReadError(path, "SCI or WHT extension holds no image data")
    if header.get("INSTRUME") or telescope:  # a product that says what it is
        found, why = hst_imager(telescope, str(header.get("INSTRUME", "")),
                                str(header.get("DETECTOR", "")))
        if found is None:
            raise NotHSTError(path, why)
    return DrizzledImage(name=path.name, path=str(path), sci=arrays["SCI"],
                         wht=arrays["WHT"], ctx=arrays["CTX"], wcs=wcs,
                         header=MappingProxyType(header))


def read_single(path: str | os.PathLike) -> SingleDrizzled:
    """Open an AstroDrizzle single-drizzled image ``<rootname>_single_sci.fits``.

    Parameters
    ----------
    path : str or path-like
        The file; its image is the first HDU that holds 2-D data (the primary HDU as
        AstroDrizzle writes it).

    Returns
    -------
    SingleDrizzled
        ``sci`` is a read-only memory map; ``rootname`` is the file name before
        ``_single_sci`` (AstroDrizzle's ROOTNAME keyword holds the file name).

    Raises
    ------
    ProductReadError
        If the file is not FITS or holds no 2-D image.
    """
    path = Path(path)
    try:
        with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
            index = next((i for i, h in enumerate(hdul)
                          if h.header.get("NAXIS", 0) == 2 and h.is_image), None)
            if index is None:
                raise ProductReadError(path, "holds no 2-D image")
            sci = _memmap(path, hdul, index)
            expstart = _float(hdul[index].header.get("EXPSTART"))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AstropyWarning)
                wcs = WCS(hdul[index].header)
    except ProductReadError:
        raise
    except _FITS_ERRORS as exc:
        raise ProductReadError(path, f"cannot be read as FITS: {exc}") from None
    if sci is None:
        raise ProductReadError(path, "holds no image data")
    name = path.name
    lower = name.lower()
    cut = lower.find("_single_sci")
    rootname = (name[:cut] if cut > 0 else name.split("_")[0]).lower()
    return SingleDrizzled(name=name, path=str(path), rootname=rootname, sci=sci, wcs=wcs,
                          expstart=expstart)


def _pick(keys, *headers) -> dict[str, Any]:
    out = {}
    for key in keys:
        for header in headers:
            if key in header and header[key] is not None:
                value = header[key]
                out[key] = value.strip() if isinstance(value, str) else value
                break
    return out


def _filter(instrument: str, primary) -> str:
    if instrument == "ACS" or "FILTER1" in primary:
        names = [str(primary.get(k, "")).strip() for k in ("FILTER1", "FILTER2")]
        names = [n for n in names if n and not n.upper().startswith("CLEAR")]
        return ";".join(names) or "CLEAR"
    return str(primary.get("FILTER", "")).strip()


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _rms(sci, dec: float) -> tuple[float, float, str]:
    """RMS_RA/RMS_DEC as on-sky mas, and their origin.

    The HAP pipeline (``haputils/align_utils.py``) writes ``RMS_RA``/``RMS_DEC`` in mas as
    the standard deviation of ``SkyCoord.spherical_offsets_to`` offsets, i.e. true
    angles (cos(Dec) included), with -1 when there was no fit. TweakReg's ``updatehdr``
    writes them in degrees as ``|CRVAL(CRPIX + rms) - CRVAL|``: a difference in RA
    *coordinate*, so it is multiplied by cos(Dec) here. TweakReg keeps an existing
    card's comment (which may still say "mas"), so its solution is recognised by
    ``FITNAME == WCSNAME`` (it sets both), not by the comment.
    """
    if "RMS_RA" not in sci or "RMS_DEC" not in sci:
        return math.nan, math.nan, ""
    ra, dec_rms = _float(sci["RMS_RA"]), _float(sci["RMS_DEC"])
    if _is_tweakreg(sci):
        cosdec = math.cos(math.radians(dec)) if math.isfinite(dec) else math.nan
        return ra * 3.6e6 * cosdec, dec_rms * 3.6e6, "tweakreg"
    if ra < 0 or dec_rms < 0:  # pipeline sentinel: no fit
        return math.nan, math.nan, "pipeline"
    return ra, dec_rms, "pipeline"


def _is_tweakreg(sci) -> bool:
    fitname = str(sci.get("FITNAME", "")).strip()
    return bool(fitname) and fitname == str(sci.get("WCSNAME", "")).strip()


def read_input_exposure(path: str | os.PathLike) -> InputExposure:
    """Summarise an input ``_flc``/``_flt`` exposure from its primary and SCI,1 headers.

    Parameters
    ----------
    path : str or path-like
        The exposure (only headers are read).

    Returns
    -------
    InputExposure
        Rootname, ASN_ID, TARGNAME, instrument/detector, filter (the non-CLEAR one of
        FILTER1/FILTER2 for ACS, FILTER for WFC3), EXPTIME, RA_TARG/DEC_TARG, DATE-OBS,
        POSTARG1/2, ORIENTAT, WCSNAME/WCSTYPE, NMATCHES, RMS_RA/RMS_DEC as on-sky mas
        (see ``rms_origin``) and the pixel scale IDCSCALE (nominal detector scale when
        the keyword is missing).

    Raises
    ------
    NotHSTError
        If the file is not an HST imaging exposure of a detector in
        ``checks/detectors.toml`` (TELESCOP not HST, an unknown INSTRUME/DETECTOR, OBSTYPE
        SPECTROSCOPIC).
    ProductReadError
        If the file is not FITS or has no primary/SCI header.
    """
    path = Path(path)
    try:
        with fits.open(path, memmap=False) as hdul:
            extensions = tuple(str(h.name) for h in hdul[1:])
            primary = hdul[0].header.copy()
            try:
                sci = hdul["SCI", 1].header.copy()
            except KeyError:
                sci = hdul[1].header.copy() if len(hdul) > 1 else primary
            chips = tuple(str(h.header.get("DETECTOR", "")) for h in hdul[1:]
                          if h.name == "SCI")
    except _FITS_ERRORS as exc:
        raise ProductReadError(path, f"cannot be read as FITS: {exc}") from None
    found, why = hst_imager(str(primary.get("TELESCOP", "")),
                            str(primary.get("INSTRUME", "")),
                            str(primary.get("DETECTOR", "")),
                            str(primary.get("OBSTYPE", "")), chips)
    if found is None:
        raise NotHSTError(path, why)
    inst, det = found.name.split("/")
    scale = _float(sci.get("IDCSCALE", NOMINAL_SCALE.get((inst, det), math.nan)))
    rms_ra, rms_dec, origin = _rms(sci, _float(sci.get("CRVAL2", primary.get("DEC_TARG"))))
    nmatches = sci.get("NMATCH") if origin == "tweakreg" else sci.get("NMATCHES")
    nmatches = _float(nmatches)
    rootname = str(primary.get("ROOTNAME", path.name.split("_")[0])).strip().lower()
    return InputExposure(
        name=path.name, rootname=rootname, asn_id=str(primary.get("ASN_ID", "")).strip(),
        targname=str(primary.get("TARGNAME", "")).strip(), instrument=inst, detector=det,
        filter=_filter(inst, primary), exptime=_float(primary.get("EXPTIME")),
        ra_targ=_float(primary.get("RA_TARG")), dec_targ=_float(primary.get("DEC_TARG")),
        date_obs=str(primary.get("DATE-OBS", "")).strip(),
        postarg1=_float(primary.get("POSTARG1")), postarg2=_float(primary.get("POSTARG2")),
        orientat=_float(sci.get("ORIENTAT")), wcsname=str(sci.get("WCSNAME", "")).strip(),
        nmatches=int(nmatches) if math.isfinite(nmatches) else None, rms_ra=rms_ra,
        rms_dec=rms_dec, pixel_scale=scale, wcstype=str(sci.get("WCSTYPE", "")).strip(),
        rms_origin=origin, idctab=str(primary.get("IDCTAB", "")).strip(),
        d2imfile=str(primary.get("D2IMFILE", "")).strip(),
        npolfile=str(primary.get("NPOLFILE", "")).strip(), extensions=extensions,
        expstart=_float(primary.get("EXPSTART")))
