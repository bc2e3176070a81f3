"""Are all input exposures on one astrometric frame, with one distortion model?

Relative alignment fixes the offsets between the exposures, but exposures whose WCS
come from different astrometric solutions start apart by the frames' difference and can
end up apart when a fit is poor or fails: drizzlepac issue #1021 (FIT_REL_GAIADR1 mixed
with FIT_REL_GAIADR2: a 100 px offset while the pipeline reported success). Judged from
the inputs' headers:

- the astrometric frame of each WCSNAME (``IDC_<idc>-FIT_<kind>_<catalog>``: the
  catalog; ``IDC_<idc>-<GSC240|HSC30>``: that a-priori catalog; ``IDC_<idc>`` or OPUS:
  none): more than one frame fails (user names such as TWEAK are not compared);
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
from .products import InputExposure
from .registry import check
from .result import Measurement, Status

__all__ = ["wcs_consistency", "astrometric_frame"]

_FIT_RE = re.compile(r"-FIT_([A-Z]+)_([A-Z0-9]+)$")
_APRIORI_RE = re.compile(r"^IDC_[A-Z0-9]+-([A-Z0-9]+)$")
_NO_FILE = {"", "N/A", "NONE"}


def astrometric_frame(wcsname: str) -> str | None:
    """The astrometric catalog a WCSNAME ties the WCS to (``"none"`` for distortion-only
    or OPUS solutions), or None when the name is not a pipeline name (e.g. TWEAK)."""
    name = wcsname.strip().upper()
    m = _FIT_RE.search(name)
    if m:
        return m.group(2)
    m = _APRIORI_RE.match(name)
    if m:
        return m.group(1)
    if re.fullmatch(r"IDC_[A-Z0-9]+", name) or name.startswith("OPUS"):
        return "none"
    return None


def _file(value: str) -> str:
    text = value.strip()
    return "" if text.upper() in _NO_FILE else text.split("$")[-1].split("/")[-1].lower()


def _detector(e: InputExposure) -> str:
    return f"{e.instrument}/{e.detector}"


@check("wcs_consistency", needs=("inputs",), unit="",
       description="Input exposures on different astrometric frames (WCSNAME), with a "
                   "failed pipeline fit (-FIT_..._NONE), different distortion reference "
                   "files within one detector, or missing D2IM/NPOL lookup tables.")
def wcs_consistency(inputs: tuple[InputExposure, ...]) -> Iterator[Measurement]:
    """Measurements (explicit verdicts) on the frames, the failed fits, the distortion
    files and the lookup tables of the inputs (which detectors have D2IM/NPOL tables:
    ``checks/detectors.toml``)."""
    frames: dict[str, list[str]] = defaultdict(list)
    unknown: list[str] = []
    for e in inputs:
        frame = astrometric_frame(e.wcsname)
        if frame is None:
            unknown.append(f"{e.name} ({e.wcsname or 'no WCSNAME'})")
        else:
            frames[frame].append(e.name)
        if frame == "NONE":
            yield Measurement(e.name, 1.0, f"{e.name}: WCSNAME {e.wcsname!r}: the pipeline's "
                              "fit to an astrometric catalog failed (FIT_..._NONE); the WCS "
                              "is its a-priori solution.", {"wcsname": e.wcsname},
                              status=Status.FAIL)
    named = {f: names for f, names in frames.items() if f != "NONE"}
    listing = "; ".join(f"{f}: {', '.join(n)}" for f, n in sorted(named.items()))
    skipped = f" Not compared (not a pipeline WCSNAME): {', '.join(unknown)}." if unknown else ""
    if len(named) > 1:
        yield Measurement("astrometric frame", float(len(named)),
                          f"The inputs are on {len(named)} astrometric frames ({listing}): "
                          "exposures on different frames start apart by the frames' "
                          "difference (drizzlepac #1021). Re-fetch or re-run the "
                          "astrometric update so that all share one WCSNAME frame."
                          + skipped, {"frames": {f: list(n) for f, n in named.items()}},
                          status=Status.FAIL)
    elif named:
        yield Measurement("astrometric frame", 1.0, f"All compared inputs on one frame "
                          f"({listing}).{skipped}",
                          {"frames": {f: list(n) for f, n in named.items()}},
                          status=Status.PASS)
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
