"""Fit RMS of every image in every TweakReg shift file."""
from __future__ import annotations

import math
from typing import Iterable, Iterator

from .display import Column
from .products import (Context, FitMatches, InputExposure, ShiftFile, ShiftRow,
                       TweakRegLog, file_name)
from .registry import check
from .result import Measurement, Status

__all__ = ["fit_rms", "is_reference_row", "pixel_scales"]


def is_reference_row(row: ShiftRow) -> bool:
    """TweakReg's row for its reference image: zero shift, rotation and RMS, unit scale."""
    rot = row.rot % 360.0
    return (row.xsh == 0.0 and row.ysh == 0.0 and min(rot, 360.0 - rot) == 0.0
            and row.scale == 1.0 and row.xrms == 0.0 and row.yrms == 0.0)


def pixel_scales(inputs: Iterable[InputExposure] | None) -> dict[str, float]:
    """arcsec/pixel by exposure file name and by rootname."""
    out: dict[str, float] = {}
    for exp in inputs or ():
        if math.isfinite(exp.pixel_scale) and exp.pixel_scale > 0:
            out[exp.name] = out[exp.rootname] = exp.pixel_scale
    return out


def _scale_of(image: str, scales: dict[str, float], context: Context | None) -> float | None:
    scale = scales.get(image) or scales.get(image.split("_")[0].lower())
    if scale is None and context is not None:
        scale = context.pixel_scale
    return scale


def _rms(image: str, xrms: float, yrms: float, scales: dict[str, float],
         context: Context | None, details: dict) -> tuple[float, str]:
    """``max(xrms, yrms)`` and its text, in pixels and (scale known) in mas."""
    scale = _scale_of(image, scales, context)
    text = f"xrms {xrms:.3f}, yrms {yrms:.3f} pix"
    if scale:
        details.update(pixel_scale_arcsec=scale, xrms_mas=xrms * scale * 1e3,
                       yrms_mas=yrms * scale * 1e3)
        text += f" ({xrms * scale * 1e3:.1f}, {yrms * scale * 1e3:.1f} mas)"
    return max(xrms, yrms), text


def _from_log(log: TweakRegLog, scales: dict[str, float],
              context: Context | None) -> Iterator[Measurement]:
    """The last run's per-image XRMS/YRMS, where no shift file was written or kept."""
    name = file_name(log.path)
    last = log.runs[-1].index if log.runs else 0
    for fit in (f for f in log.fits if f.run == last):
        subject = f"{name}:{fit.image}"
        details = {"xrms": fit.xrms, "yrms": fit.yrms, "line": fit.line,
                   "source": "tweakreg_log"}
        where = f"{name} line {fit.line}, run {last + 1}; no readable shift file"
        if fit.failed or math.isnan(fit.xrms) or math.isnan(fit.yrms):
            yield Measurement(subject, math.nan, f"TweakReg did not fit {fit.image}: "
                              f"{fit.reason or 'no XRMS/YRMS logged'} ({where}).", details)
            continue
        value, text = _rms(fit.image, fit.xrms, fit.yrms, scales, context, details)
        yield Measurement(subject, value, f"{fit.image}: {text}, from the TweakReg log "
                          f"({where}).", details)


def _from_match_headers(fit_matches: tuple[FitMatches, ...], scales: dict[str, float],
                        context: Context | None) -> Iterator[Measurement]:
    """Each ``*_catalog_fit.match`` header's "X and Y rms", without shift file and log."""
    for fm in fit_matches:
        name = file_name(fm.path)
        xrms, yrms = (float((fm.header or {}).get(k, math.nan)) for k in ("xrms", "yrms"))
        details = {"xrms": xrms, "yrms": yrms, "source": "fit_matches"}
        if math.isnan(xrms) or math.isnan(yrms):
            yield Measurement(name, math.nan, f"{name}: no X and Y rms in its header.",
                              details)
            continue
        value, text = _rms(fm.image, xrms, yrms, scales, context, details)
        yield Measurement(name, value, f"{fm.image}: {text}, from the header of {name} "
                          "(no readable shift file or TweakReg log).", details)


@check("fit_rms", needs=(), optional=("shiftfiles", "tweakreg_log", "fit_matches", "inputs",
                                      "context"), unit="pix",
       summary=(Column("fit RMS (max)", "max"),),
       description="TweakReg's fit residual RMS of an image is too large: its alignment "
                   "to the reference is poor and drizzling will blur or double sources.")
def fit_rms(shiftfiles: tuple[ShiftFile, ...] = (), inputs: tuple[InputExposure, ...] = (),
            context: Context | None = None, tweakreg_log: TweakRegLog | None = None,
            fit_matches: tuple[FitMatches, ...] = ()) -> Iterator[Measurement]:
    """Measure ``max(xrms, yrms)`` (pixels of the fit frame) per image, from every place
    TweakReg writes it: the shift files' rows; else the TweakReg log's last run (its
    per-image XRMS/YRMS); else each ``*_catalog_fit.match`` header's "X and Y rms". The
    message says which.

    The reference image's row (zero shift and RMS) passes as "reference image". A row
    with NaN (TweakReg could not fit the image; drizzlepac 3.11 writes NaN shifts with
    *zero* RMS), or an image the log says TweakReg could not fit, is not measurable and
    fails. ``details`` give xrms/yrms and, when the detector pixel scale is known (input
    headers or dataset context), the RMS in mas.
    """
    scales = pixel_scales(inputs)
    if not shiftfiles:
        if tweakreg_log is not None and tweakreg_log.fits:
            yield from _from_log(tweakreg_log, scales, context)
        elif fit_matches:
            yield from _from_match_headers(fit_matches, scales, context)
        return
    for sf in shiftfiles:
        if sf.units and sf.units.strip().lower() not in ("pixels", "pixel", "pix"):
            yield Measurement(sf.name, math.nan, f"{sf.name} is in units {sf.units!r}, "
                              "not pixels: its RMS cannot be judged.", status=Status.ERROR)
            continue
        for row in sf.rows:
            subject = f"{sf.name}:{row.image}"
            details = {"xrms": row.xrms, "yrms": row.yrms, "line": row.line,
                       "units": sf.units or "pixels"}
            if is_reference_row(row):
                yield Measurement(subject, 0.0, f"{row.image} is the reference image "
                                  "(zero shift and RMS).", details, status=Status.PASS)
                continue
            values = (row.xsh, row.ysh, row.rot, row.scale, row.xrms, row.yrms)
            if any(math.isnan(v) for v in values):
                yield Measurement(subject, math.nan, f"TweakReg did not fit {row.image}: "
                                  f"NaN in {sf.name} line {row.line}.", details)
                continue
            value, text = _rms(row.image, row.xrms, row.yrms, scales, context, details)
            yield Measurement(subject, value, f"{row.image}: {text}.", details)
