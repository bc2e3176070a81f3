"""Fit RMS of every image in every TweakReg shift file."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Iterator

from .detectors import Detector, detector as find_detector, from_name, nearest_detector
from .display import Column
from .frames import fit_frame_scale, input_scale
from .products import (Context, FitMatches, InputExposure, ShiftFile, TweakRegLog, file_name)
from .registry import check
from .result import Measurement, Status

__all__ = ["fit_rms", "pixel_scales", "reference_frame", "ImageScales"]


def pixel_scales(inputs: Iterable[InputExposure] | None) -> dict[str, float]:
    """arcsec/pixel by exposure file name and by rootname."""
    out: dict[str, float] = {}
    for exp in inputs or ():
        if math.isfinite(exp.pixel_scale) and exp.pixel_scale > 0:
            out[exp.name] = out[exp.rootname] = exp.pixel_scale
    return out


def _is_image_reference(name: str) -> bool:
    """A reference named as a FITS image (``f160w_drz_sci.fits[0]``), not a catalog."""
    return re.search(r"\.fits?(\[[^\]]*\])?$", name.strip(), re.IGNORECASE) is not None


class ImageScales:
    """Per image: its detector (and how it was told), the detector's and the fit
    frame's arcsec/px, and whether it was fitted to an external catalog."""

    def __init__(self, inputs: Iterable[InputExposure] | None, context: Context | None,
                 fit_matches: Iterable[FitMatches] = (),
                 tweakreg_log: TweakRegLog | None = None):
        self.inputs: dict[str, InputExposure] = {}
        for exp in inputs or ():
            self.inputs[exp.name.lower()] = self.inputs[exp.rootname.lower()] = exp
        self.context = context
        # match files may name their image by an absolute path (a researcher's run)
        self.matches = {file_name(fm.image).lower(): fm for fm in fit_matches}
        self.log = tweakreg_log

    def detector(self, image: str, exp: InputExposure | None,
                 fm: FitMatches | None) -> tuple[Detector | None, str]:
        """The image's detector and how it was told (one phrase for the details)."""
        if exp is not None:
            det = find_detector(exp.instrument, exp.detector)
            if det is not None:
                return det, f"INSTRUME/DETECTOR of {exp.name}"
        told = from_name(image)
        if told.detector is not None:
            return told.detector, told.how
        if fm is not None and (s := input_scale(fm)) is not None:
            det = nearest_detector(s, instrument=told.instrument)
            if det is not None:
                return det, (f"{told.how + '; ' if told.instrument else ''}input pixel scale "
                             f"{s:.4f}\"/px measured from {file_name(fm.path)}")
        ctx = self.context
        if exp is None and ctx is not None and ctx.instrument and (
                told.instrument is None or told.instrument == ctx.instrument.upper()):
            det = find_detector(ctx.instrument, ctx.detector)
            if det is not None:
                return det, (f"{told.how + '; ' if told.instrument else ''}the dataset's "
                             "instrument/detector (drizzled image header or AstroDrizzle "
                             "log)")
        if exp is not None:
            return None, (f"{exp.name} says INSTRUME/DETECTOR {exp.instrument}/"
                          f"{exp.detector}, not an imager in checks/detectors.toml")
        return None, told.how + ("" if told.instrument is None else
                                 f"; its {told.instrument} detector is not told by the name, "
                                 "a match file or the dataset")

    def reference(self, image: str, fm: FitMatches | None,
                  run: int | None = None) -> tuple[str, str, str]:
        """``(kind, name, how)``: kind ``"catalog"``, ``"image"`` or ``""`` (unknown)."""
        if self.log is not None:
            fits = [f for f in self.log.fits
                    if file_name(f.image).lower() == file_name(image).lower()
                    and f.reference_kind and (run is None or f.run == run)]
            if fits:
                f = fits[-1]
                return (f.reference_kind, f.reference, f"{file_name(self.log.path)} line "
                        f"{f.line}: matched with the reference {f.reference_kind} "
                        f"'{f.reference}'")
        if fm is not None and "ref_source" in fm.table.colnames and len(fm.table):
            name = str(fm.table["ref_source"][0]).strip()
            kind = "image" if _is_image_reference(name) else "catalog"
            return kind, name, f"reference source '{name}' in {file_name(fm.path)}"
        return "", "", "neither a TweakReg log nor a match file names the reference"

    def of(self, image: str, run: int | None = None,
           shiftfile: ShiftFile | None = None) -> _Told:
        """What is known of ``image`` (``run``: the log's run that wrote its row;
        ``shiftfile``: the shift file whose row is judged, whose ``frame_scale`` gives
        the fit frame when the image has no match file of its own)."""
        key = file_name(image).lower()
        exp = self.inputs.get(key) or self.inputs.get(key.split("_")[0])
        fm = self.matches.get(key)
        det, how = self.detector(image, exp, fm)
        scale = None
        if exp is not None and math.isfinite(exp.pixel_scale) and exp.pixel_scale > 0:
            scale = exp.pixel_scale
        elif det is not None:
            scale = det.plate_scale
        elif self.context is not None and self.context.pixel_scale:
            scale = self.context.pixel_scale
        frame = fit_frame_scale(fm) if fm is not None else None
        where = file_name(fm.path) if fm is not None else ""
        kind, ref, ref_how = self.reference(image, fm, run)
        if frame is None and shiftfile is not None and shiftfile.frame_scale:
            # one shift file, one frame: the reference's WCS (issue 23 item 2: never the
            # input detector's scale)
            frame = shiftfile.frame_scale
            where = f"{shiftfile.name}'s frame, from {shiftfile.frame_scale_from}"
        if frame is None and kind == "image":
            frame, where = reference_frame(ref)
        return _Told(det, how, scale, frame, where, kind, ref, ref_how)


def reference_frame(ref: str) -> tuple[float | None, str]:
    """Scale of TweakReg's fit frame when the reference is one raw exposure: its
    undistorted WCS, at the scale of its first chip (``frame_scale`` in
    ``checks/detectors.toml``; PC1 for WFPC2). A drizzled reference has the scale its
    author chose: unknown here."""
    name = file_name(ref).lower()
    suffix = name.partition("_")[2]
    if any(k in suffix for k in ("drz", "drc", "sci", "single")):
        return None, ""
    det = from_name(name).detector
    if det is None:
        return None, ""
    scale = det.frame_scale or det.plate_scale
    return scale, (f"the reference exposure {file_name(ref)}'s undistorted frame, "
                   f"{scale:g}\"/px for {det.name} (checks/detectors.toml)")


@dataclass(frozen=True)
class _Told:
    det: Detector | None
    how: str  # how the detector was told, or why it could not be
    scale: float | None  # the detector's arcsec/px
    frame: float | None  # the fit frame's arcsec/px (from the match file)
    where: str  # the match file that gave the frame scale
    ref_kind: str  # "catalog", "image" or ""
    ref: str
    ref_how: str


def _rms(image: str, xrms: float, yrms: float, scales: ImageScales, details: dict,
         run: int | None = None, shiftfile: ShiftFile | None = None,
         ) -> tuple[float, str, str, str | None, str | None]:
    """The value to judge (``max(xrms, yrms)`` in the image's detector pixels), its text,
    a sentence on how the detector and the reference were told, the detector's name and
    the reference kind (``"catalog"`` or None).

    The shift file's pixels are the fit frame's: the reference image's, which may be
    another detector's drizzled mosaic (the real align_mosaics run fits WFC3/UVIS images
    in a 0.08"/px frame). When the image's match file gives that frame's scale and it
    differs from the detector's, the RMS is converted to the detector's pixels.
    """
    t = scales.of(image, run, shiftfile)
    det, scale, frame, where = t.det, t.scale, t.frame, t.where
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
    details["detector_from"] = t.how
    details.update(reference=t.ref, reference_kind=t.ref_kind or "unknown",
                   reference_from=t.ref_how)
    if det is None:
        return value, text, (f"Detector not known ({t.how}): judged with the generic pixel "
                             "levels, not any imager's."), None, None
    details["detector"] = det.name
    note = f"{det.name}: {t.how}."
    if t.ref_kind == "catalog":
        return value, text, (f"{note} Fitted to the external catalog '{t.ref}' ({t.ref_how}): "
                             "judged with the catalog-fit levels."), det.name, "catalog"
    if not t.ref_kind:
        note += f" Reference not known ({t.ref_how}): judged as an image-to-image fit."
    return value, text, note, det.name, None


def _from_log(log: TweakRegLog, scales: ImageScales) -> Iterator[Measurement]:
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
        value, text, note, det, ref = _rms(fit.image, fit.xrms, fit.yrms, scales, details,
                                           run=last)
        yield Measurement(subject, value, f"{fit.image}: {text}, from the TweakReg log "
                          f"({where}). {note}", details, detector=det, reference=ref)


def _from_match_headers(fit_matches: tuple[FitMatches, ...],
                        scales: ImageScales) -> Iterator[Measurement]:
    """Each ``*_catalog_fit.match`` header's "X and Y rms", without shift file and log."""
    for fm in fit_matches:
        name = file_name(fm.path)
        xrms, yrms = (float((fm.header or {}).get(k, math.nan)) for k in ("xrms", "yrms"))
        details = {"xrms": xrms, "yrms": yrms, "source": "fit_matches"}
        if math.isnan(xrms) or math.isnan(yrms):
            yield Measurement(name, math.nan, f"{name}: no X and Y rms in its header.",
                              details)
            continue
        value, text, note, det, ref = _rms(fm.image, xrms, yrms, scales, details)
        yield Measurement(name, value, f"{fm.image}: {text}, from the header of {name} "
                          f"(no readable shift file or TweakReg log). {note}", details,
                          detector=det, reference=ref)


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
    scales = ImageScales(inputs, context, fit_matches, tweakreg_log)
    if not shiftfiles:
        if tweakreg_log is not None and tweakreg_log.fits:
            yield from _from_log(tweakreg_log, scales)
        elif fit_matches:
            yield from _from_match_headers(fit_matches, scales)
        return
    for sf in shiftfiles:
        run = _writer(tweakreg_log, sf)
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
            value, text, note, det, ref = _rms(row.image, row.xrms, row.yrms, scales,
                                               details, run=run, shiftfile=sf)
            yield Measurement(subject, value, f"{row.image}: {text}. {note}", details,
                              detector=det, reference=ref)


def _writer(log: TweakRegLog | None, sf: ShiftFile) -> int | None:
    """Index of the log's last run that wrote ``sf`` (None: not named in the log)."""
    if log is None:
        return None
    runs = [r.index for r in log.runs if r.shiftfile and r.shiftfile == sf.name]
    return runs[-1] if runs else None
