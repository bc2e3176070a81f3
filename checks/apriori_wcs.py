"""Quality of the WCS the input exposures carry before TweakReg (notebook sections 1.1-1.2)."""
from __future__ import annotations

import math
from typing import Iterator

from .products import InputExposure
from .registry import check
from .result import Measurement, Status

__all__ = ["apriori_wcs", "wcs_kind"]

_FIT_KINDS = {
    "FIT_IMG": "a posteriori, image-by-image fit to an astrometric catalog",
    "FIT_REL": "a posteriori, relative fit then aligned to an astrometric catalog",
    "FIT_SVM": "a posteriori, single-visit-mosaic fit",
    "FIT_EVM": "a posteriori, exposure-visit fit",
    "FIT_MVM": "a posteriori, multi-visit-mosaic fit",
}


def wcs_kind(exposure: InputExposure) -> tuple[str, str]:
    """``(kind, description)`` of the active WCS from its WCSNAME.

    kind is ``"FIT_IMG"``/``"FIT_REL"``/``"FIT_SVM"``/... or ``"FIT"`` for a-posteriori
    pipeline solutions, ``"TWEAK"`` for a user TweakReg solution, ``"APRIORI"`` for
    ``IDC_<idctab>-<GSC240|HSC30|...>`` (catalog-corrected a-priori), ``"IDC"`` for
    distortion-only ``IDC_<idctab>``, ``"OPUS"`` and ``"NONE"``.
    """
    name = exposure.wcsname.strip().upper()
    if not name:
        return "NONE", "no WCSNAME"
    for key, text in _FIT_KINDS.items():
        if key in name:
            return key, text
    if "-FIT" in name:
        return "FIT", "a posteriori fit to an astrometric catalog"
    if exposure.rms_origin == "tweakreg" or name.startswith("TWEAK"):
        return "TWEAK", "user TweakReg solution"
    if name.startswith("IDC_") and "-" in name:
        return "APRIORI", "a priori solution (guide-star catalog correction only)"
    if name.startswith("IDC_"):
        return "IDC", "distortion solution only, no astrometric correction"
    if name.startswith("OPUS"):
        return "OPUS", "original pipeline WCS, no astrometric correction"
    return "OTHER", "unrecognised WCSNAME"


@check("apriori_wcs", needs=("inputs",), unit="mas",
       description="The inputs' starting WCS is not a good a-posteriori solution: "
                   "TweakReg must absorb larger offsets and the absolute astrometry is "
                   "uncertain.")
def apriori_wcs(inputs: tuple[InputExposure, ...]) -> Iterator[Measurement]:
    """Judge the RMS of each input exposure's a-posteriori WCS, on the sky (mas).

    RMS_RA/RMS_DEC of pipeline solutions are on-sky mas (the standard deviation of
    ``SkyCoord.spherical_offsets_to`` offsets in drizzlepac ``haputils/align_utils.py``,
    cos(Dec) included); the reader converts TweakReg's degree values the same way. The
    value is ``max(RMS_RA, RMS_DEC)`` in mas: the fit is to an external catalog, whose
    errors are on the sky, so one level in mas holds for every detector (the details
    give it in the image's pixels, ``max / (1000 * IDCSCALE)``). A WCS that is not a fit
    (distortion-only IDC, a-priori GSC/HSC, OPUS) warns: its error is not measured
    (typically 0.1-1 arcsec before Gaia-based corrections).
    """
    for exp in inputs:
        kind, text = wcs_kind(exp)
        details = {"wcsname": exp.wcsname, "wcs_kind": kind, "nmatches": exp.nmatches,
                   "rms_ra_mas": exp.rms_ra, "rms_dec_mas": exp.rms_dec,
                   "pixel_scale_arcsec": exp.pixel_scale, "rms_origin": exp.rms_origin}
        if kind not in _FIT_KINDS and kind not in ("FIT", "TWEAK"):
            yield Measurement(exp.name, math.nan, f"{exp.name}: WCSNAME {exp.wcsname!r} is "
                              f"{text}; its error is not measured.", details,
                              status=Status.WARN)
            continue
        rms = max(exp.rms_ra, exp.rms_dec)
        if not math.isfinite(rms):
            yield Measurement(exp.name, math.nan, f"{exp.name}: WCSNAME {exp.wcsname!r} "
                              f"({text}) records no fit RMS.", details, status=Status.WARN)
            continue
        details["rms_total_mas"] = math.hypot(exp.rms_ra, exp.rms_dec)
        pixels = ""
        if math.isfinite(exp.pixel_scale) and exp.pixel_scale > 0:
            details["rms_pix"] = rms / (1000.0 * exp.pixel_scale)
            pixels = f" ({details['rms_pix']:.2f} px of {exp.pixel_scale:g}\"/px)"
        yield Measurement(exp.name, rms, f"{exp.name}: {exp.wcsname} ({text}), RMS_RA "
                          f"{exp.rms_ra:.1f} mas, RMS_DEC {exp.rms_dec:.1f} mas from "
                          f"{exp.nmatches} matches{pixels}.", details)
