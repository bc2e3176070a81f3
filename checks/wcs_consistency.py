"""Are all input exposures on one astrometric frame, with one distortion model?

Relative alignment fixes the offsets between the exposures, but exposures whose WCS
come from different astrometric solutions start apart by the frames' difference and can
end up apart when a fit is poor or fails: drizzlepac issue #1021 (FIT_REL_GAIADR1 mixed
with FIT_REL_GAIADR2: a 100 px offset while the pipeline reported success). Judged from
the inputs' headers:

- the astrometric frame of each WCSNAME, compared as drizzlepac's HAP tests compare them
  (``test_svm_samewcs``: the part after the first '-'), with FIT_IMG, FIT_REL and FIT_SVM
  on one catalog one frame (``IDC_<idc>-FIT_<kind>_<catalog>``: the catalog;
  ``IDC_<idc>-<GSC240|HSC30>``: that a-priori catalog; ``IDC_<idc>`` or OPUS: none):
  more than one pipeline frame fails. A user's name (TWEAK, GAIA, Gaia ...) is judged
  from what the TweakReg log says the image was fitted to: a reference catalog (its
  file), or a reference image (that image's frame when it is among the inputs). Where
  that cannot be told, or a user's frame cannot be compared with a pipeline frame (is
  'gaia.cat' GAIAeDR3?), it warns and says why, never passes silently;
- a WCSNAME ending in ``-FIT_<kind>_NONE``: the pipeline's catalog fit failed, fail;
- exposures of one detector with different IDCTAB, D2IMFILE or NPOLFILE: warn (the
  distortion models differ between them);
- an exposure of a detector that has D2IM/NPOL lookup tables whose header names the
  files but has no D2IMARR/WCSDVARR extension: fail (its distortion model is
  incomplete: 0.05-0.1 px); one that names none (``N/A``, as simulated data): warn.
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterator

from .detectors import detector as find_detector
from .products import ImageFit, InputExposure, TweakRegLog, file_name
from .registry import check
from .result import Measurement, Status

__all__ = ["wcs_consistency", "astrometric_frame"]

_FIT_RE = re.compile(r"FIT_([A-Z]+)_([A-Z0-9]+)")
_PIPELINE_HEAD = re.compile(r"IDC_[A-Z0-9]+|OPUS[A-Z0-9_]*")
_NO_FILE = {"", "N/A", "NONE"}


def astrometric_frame(wcsname: str) -> str | None:
    """The astrometric catalog a pipeline WCSNAME ties the WCS to, or None when the name
    is not a pipeline name (e.g. TWEAK, GAIA).

    As drizzlepac's HAP test ``test_svm_samewcs`` compares frames: by the part after the
    first '-' (``IDC_<idc>-<frame>``; the part before it names the distortion solution,
    which differs between detectors of one frame). Of ``FIT_<kind>_<catalog>`` only the
    catalog counts: FIT_IMG, FIT_REL and FIT_SVM on one catalog are one frame. No part
    after '-' (``IDC_<idc>``, ``OPUS``): ``"none"``, no astrometric correction.
    """
    head, _, tail = wcsname.strip().upper().partition("-")
    if not _PIPELINE_HEAD.fullmatch(head):
        return None
    if not tail:
        return "none"
    m = _FIT_RE.fullmatch(tail)
    return m.group(2) if m else tail


def _log_fit(log: TweakRegLog | None, e: InputExposure) -> ImageFit | None:
    """The TweakReg log's last fit of exposure ``e`` that names its reference."""
    if log is None:
        return None
    names = {e.name.lower(), e.rootname.lower()}
    fits = [f for f in log.fits if f.reference_kind and (
        file_name(f.image).lower() in names
        or file_name(f.image).lower().split("_")[0] in names)]
    return fits[-1] if fits else None


def _is_reference(log: TweakRegLog | None, e: InputExposure) -> str:
    """The log line where ``e`` served as the reference image of a fit ("" if never)."""
    if log is None:
        return ""
    for f in reversed(log.fits):
        if f.reference_kind == "image" and file_name(f.reference).lower() == e.name.lower():
            return f"{file_name(log.path)} line {f.line}"
    return ""


def _frames(inputs: tuple[InputExposure, ...], log: TweakRegLog | None,
            ) -> dict[str, tuple[str | None, str]]:
    """Per exposure name: ``(frame key, how it was told)``; key None: cannot be told.
    Keys: a pipeline catalog (``"GAIAEDR3"``), ``"catalog 'gaia.cat'"`` or
    ``"reference image 'x.fits'"`` for a user's WCSNAME told from the log."""
    out: dict[str, tuple[str | None, str]] = {}
    by_name = {e.name.lower(): e for e in inputs}
    for e in inputs:
        frame = astrometric_frame(e.wcsname)
        if frame is not None:
            out[e.name] = (frame, f"WCSNAME {e.wcsname!r}")
            continue
        own = f"WCSNAME {e.wcsname!r}, a user's name" if e.wcsname else "no WCSNAME"
        fit = _log_fit(log, e)
        where = f"{file_name(log.path)} line {fit.line}" if fit is not None else ""
        if fit is not None and fit.reference_kind == "catalog":
            out[e.name] = (f"catalog '{file_name(fit.reference)}'",
                           f"{own}; {where}: fitted to the reference catalog "
                           f"'{fit.reference}'")
        elif fit is not None:
            ref = by_name.get(file_name(fit.reference).lower())
            ref_frame = astrometric_frame(ref.wcsname) if ref is not None else None
            if ref_frame is not None:
                out[e.name] = (ref_frame, f"{own}; {where}: fitted to the reference image "
                                          f"{ref.name} (WCSNAME {ref.wcsname!r})")
            else:
                out[e.name] = (f"reference image '{file_name(fit.reference)}'",
                               f"{own}; {where}: fitted to the reference image "
                               f"'{fit.reference}'")
        elif (line := _is_reference(log, e)):
            out[e.name] = (f"reference image '{e.name}'",
                           f"{own}; {line}: the reference image of the fits")
        else:
            out[e.name] = (None, f"{own}, and no TweakReg log says what it was fitted to")
    return out


def _file(value: str) -> str:
    text = value.strip()
    return "" if text.upper() in _NO_FILE else text.split("$")[-1].split("/")[-1].lower()


def _detector(e: InputExposure) -> str:
    return f"{e.instrument}/{e.detector}"


@check("wcs_consistency", needs=("inputs",), optional=("tweakreg_log",), unit="",
       description="Input exposures on different astrometric frames (WCSNAME), with a "
                   "failed pipeline fit (-FIT_..._NONE), different distortion reference "
                   "files within one detector, or missing D2IM/NPOL lookup tables.")
def wcs_consistency(inputs: tuple[InputExposure, ...],
                    tweakreg_log: TweakRegLog | None = None) -> Iterator[Measurement]:
    """Measurements (explicit verdicts) on the frames, the failed fits, the distortion
    files and the lookup tables of the inputs (which detectors have D2IM/NPOL tables:
    ``checks/detectors.toml``). The TweakReg log, when present, tells the frame of an
    exposure whose WCSNAME is a user's name (what it was fitted to)."""
    told = _frames(inputs, tweakreg_log)
    frames: dict[str, list[str]] = defaultdict(list)
    unknown: list[str] = []
    for e in inputs:
        frame, how = told[e.name]
        if frame is None:
            unknown.append(f"{e.name} ({how})")
        else:
            frames[frame].append(e.name)
        if frame == "NONE":
            yield Measurement(e.name, 1.0, f"{e.name}: WCSNAME {e.wcsname!r}: the pipeline's "
                              "fit to an astrometric catalog failed (FIT_..._NONE); the WCS "
                              "is its a-priori solution.", {"wcsname": e.wcsname},
                              status=Status.FAIL)
    named = {f: names for f, names in frames.items() if f != "NONE"}
    listing = "; ".join(f"{f}: {', '.join(n)}" for f, n in sorted(named.items()))
    details = {"frames": {f: list(n) for f, n in named.items()},
               "told": {name: how for name, (_, how) in told.items()}}
    pipeline = {f for f in named if not f.startswith(("catalog '", "reference image '"))}
    untold = (f" Frame not told: {'; '.join(unknown)}: whether it is on the others' frame "
              "cannot be judged." if unknown else "")
    if len(pipeline) > 1:
        yield Measurement("astrometric frame", float(len(named)),
                          f"The inputs are on {len(named)} astrometric frames ({listing}): "
                          "exposures on different frames start apart by the frames' "
                          "difference (drizzlepac #1021). Re-fetch or re-run the "
                          "astrometric update so that all share one WCSNAME frame."
                          + untold, details, status=Status.FAIL)
    elif len(named) > 1:
        yield Measurement("astrometric frame", float(len(named)),
                          f"The inputs' frames cannot be compared ({listing}): a user's "
                          "WCSNAME is judged by what TweakReg fitted it to, and whether "
                          "that reference is the same frame as the others' cannot be told "
                          "from the products." + untold, details, status=Status.WARN)
    elif unknown:
        yield Measurement("astrometric frame", float(len(named)),
                          (f"Compared inputs on one frame ({listing})." if named else
                           "No input's frame is known.") + untold, details,
                          status=Status.WARN)
    elif named:
        yield Measurement("astrometric frame", 1.0, f"All inputs on one frame "
                          f"({listing}).", details, status=Status.PASS)
    by_detector: dict[str, list[InputExposure]] = defaultdict(list)
    for e in inputs:
        by_detector[_detector(e)].append(e)
    for det, group in sorted(by_detector.items()):
        for key, label in (("idctab", "IDCTAB"), ("d2imfile", "D2IMFILE"),
                           ("npolfile", "NPOLFILE")):
            values: dict[str, list[str]] = defaultdict(list)
            for e in group:
                values[_file(getattr(e, key))].append(e.name)
            if len(values) > 1:
                text = "; ".join(f"{v or 'none'}: {', '.join(n)}" for v, n in
                                 sorted(values.items()))
                yield Measurement(f"{det} {label}", float(len(values)),
                                  f"{det} exposures use {len(values)} different {label} "
                                  f"({text}): their distortion models differ; reprocess "
                                  "them with the same reference files.",
                                  {"values": {v: list(n) for v, n in values.items()}},
                                  status=Status.WARN)
        known = find_detector(*det.split("/", 1))
        if known is not None and known.lookup_tables:
            for e in group:
                declared = {"D2IMARR": _file(e.d2imfile), "WCSDVARR": _file(e.npolfile)}
                absent = [x for x, f in declared.items() if f and x not in e.extensions]
                undeclared = [x for x, f in declared.items() if not f]
                if absent:
                    yield Measurement(e.name, float(len(absent)),
                                      f"{e.name} ({det}) names "
                                      + " and ".join(f"{declared[x]}" for x in absent)
                                      + f" but has no {' or '.join(absent)} extension: the "
                                      "detector's lookup-table distortion is not applied "
                                      "(0.05-0.1 px errors); run stwcs updatewcs.",
                                      {"missing": absent}, status=Status.FAIL)
                elif undeclared:
                    yield Measurement(e.name, float(len(undeclared)),
                                      f"{e.name} ({det}) declares no lookup-table "
                                      f"distortion (D2IMFILE/NPOLFILE 'N/A'): its WCS is "
                                      "SIP only. Right for simulated data; real exposures "
                                      f"of {det} are calibrated with both.",
                                      {"undeclared": undeclared}, status=Status.WARN)
