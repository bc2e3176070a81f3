"""Fit RMS of every image in every TweakReg shift file."""
from __future__ import annotations

import math
from typing import Iterable, Iterator

from .detectors import Detector, detector as find_detector, nearest_detector
from .display import Column
from .frames import fit_frame_scale, input_scale
from .products import (Context, FitMatches, InputExposure, ShiftFile, TweakRegLog, file_name)
from .registry import check
from .result import Measurement, Status

__all__ = ["fit_rms", "pixel_scales"]


def pixel_scales(inputs: Iterable[InputExposure] | None) -> dict[str, float]:
    """arcsec/pixel by exposure file name and by rootname."""
    out: dict[str, float] = {}
    for exp in inputs or ():
        if math.isfinite(exp.pixel_scale) and exp.pixel_scale > 0:
            out[exp.name] = out[exp.rootname] = exp.pixel_scale
    return out


class _Scales:
    """Per image: its detector, the detector's and the fit frame's arcsec/px."""

    def __init__(self, inputs: Iterable[InputExposure] | None, context: Context | None,
                 fit_matches: Iterable[FitMatches] = ()):
        self.inputs: dict[str, InputExposure] = {}
        for exp in inputs or ():
            self.inputs[exp.name.lower()] = self.inputs[exp.rootname.lower()] = exp
        self.context = context
        self.matches = {fm.image.lower(): fm for fm in fit_matches}

    def of(self, image: str) -> tuple[Detector | None, float | None, float | None, str]:
        """``(detector, detector scale, frame scale, where the frame scale is from)``."""
        key = image.lower()
        exp = self.inputs.get(key) or self.inputs.get(key.split("_")[0])
        fm = self.matches.get(key)
        det = None
        if exp is not None:
            det = find_detector(exp.instrument, exp.detector)
        if det is None and fm is not None and (s := input_scale(fm)) is not None:
            det = nearest_detector(s)
        if det is None and exp is None and self.context is not None:
            det = find_detector(self.context.instrument, self.context.detector)
        scale = None
        if exp is not None and math.isfinite(exp.pixel_scale) and exp.pixel_scale > 0:
            scale = exp.pixel_scale
        elif det is not None:
            scale = det.plate_scale
        elif self.context is not None and self.context.pixel_scale:
            scale = self.context.pixel_scale
        frame = fit_frame_scale(fm) if fm is not None else None
        return det, scale, frame, file_name(fm.path) if fm is not None else ""


def _rms(image: str, xrms: float, yrms: float, scales: _Scales,
         details: dict) -> tuple[float, str, str | None]:
    """The value to judge (``max(xrms, yrms)`` in the image's detector pixels), its text
    and the detector's name.

    The shift file's pixels are the fit frame's: the reference image's, which may be
    another detector's drizzled mosaic (the real align_mosaics run fits WFC3/UVIS images
    in a 0.08"/px frame). When the image's match file gives that frame's scale and it
    differs from the detector's, the RMS is converted to the detector's pixels.
    """
    det, scale, frame, where = scales.of(image)
    text = f"xrms {xrms:.3f}, yrms {yrms:.3f} pix"
    value = max(xrms, yrms)
    if frame is not None:
        details["frame_scale_arcsec"] = frame
    on_sky = frame or scale
    if scale and frame and abs(frame / scale - 1.0) > 0.02:
        ratio = frame / scale
        value *= ratio
        text = (f"xrms {xrms:.3f}, yrms {yrms:.3f} px of the fit frame ({frame:.4f}\"/px, "
                f"from {where}) = {xrms * ratio:.3f}, {yrms * ratio:.3f} "
                f"{det.name if det else 'detector'} px ({scale:.4f}\"/px)")
        details["detector_px"] = {"xrms": xrms * ratio, "yrms": yrms * ratio}
    if on_sky:
        details.update(pixel_scale_arcsec=scale, xrms_mas=xrms * on_sky * 1e3,
                       yrms_mas=yrms * on_sky * 1e3)
        text += f" ({xrms * on_sky * 1e3:.1f}, {yrms * on_sky * 1e3:.1f} mas)"
    if det is not None:
        details["detector"] = det.name
    return value, text, det.name if det is not None else None


def _from_log(log: TweakRegLog, scales: _Scales) -> Iterator[Measurement]:
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
        value, text, det = _rms(fit.image, fit.xrms, fit.yrms, scales, details)
        yield Measurement(subject, value, f"{fit.image}: {text}, from the TweakReg log "
                          f"({where}).", details, detector=det)


def _from_match_headers(fit_matches: tuple[FitMatches, ...],
                        scales: _Scales) -> Iterator[Measurement]:
    """Each ``*_catalog_fit.match`` header's "X and Y rms", without shift file and log."""
    for fm in fit_matches:
        name = file_name(fm.path)
        xrms, yrms = (float((fm.header or {}).get(k, math.nan)) for k in ("xrms", "yrms"))
        details = {"xrms": xrms, "yrms": yrms, "source": "fit_matches"}
        if math.isnan(xrms) or math.isnan(yrms):
            yield Measurement(name, math.nan, f"{name}: no X and Y rms in its header.",
                              details)
            continue
        value, text, det = _rms(fm.image, xrms, yrms, scales, details)
        yield Measurement(name, value, f"{fm.image}: {text}, from the header of {name} "
                          "(no readable shift file or TweakReg log).", details, detector=det)


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
    scales = _Scales(inputs, context, fit_matches)
    if not shiftfiles:
        if tweakreg_log is not None and tweakreg_log.fits:
            yield from _from_log(tweakreg_log, scales)
        elif fit_matches:
            yield from _from_match_headers(fit_matches, scales)
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
            if row.is_reference:
                yield Measurement(subject, 0.0, f"{row.image} is the reference image "
                                  "(zero shift and RMS).", details, status=Status.PASS)
                continue
            values = (row.xsh, row.ysh, row.rot, row.scale, row.xrms, row.yrms)
            if any(math.isnan(v) for v in values):
                yield Measurement(subject, math.nan, f"TweakReg did not fit {row.image}: "
                                  f"NaN in {sf.name} line {row.line}.", details)
                continue
            value, text, det = _rms(row.image, row.xrms, row.yrms, scales, details)
            yield Measurement(subject, value, f"{row.image}: {text}.", details, detector=det)
