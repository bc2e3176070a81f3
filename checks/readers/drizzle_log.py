"""Reader of AstroDrizzle runfiles: AstroDrizzle 3.1.x (2019) and drizzlepac 3.11.

``notable`` lines are failures (``"fail"``: errors, tracebacks) and silent fallbacks
(``"warn"``: e.g. the sky-matching revert). Python warnings raised by libraries are not
notable.
"""
from __future__ import annotations

import os
import re

from ..products import DrizzleLog
from ._common import ProductReadError, read_lines
from ._loglines import (PARAM_RE, PYWARNING_RE, Banner, Exceptions, Notes, RunSpans,
                        as_logged, split, unbox)

__all__ = ["read_drizzle_log"]

_DRIZZLE_RULES = [
    (re.compile(r"Reverting sky computation"), "warn", "sky-fallback"),
    (re.compile(r"\*ERROR:\*"), "fail", "sky-error"),
    (re.compile(r"\*WARNING:\*.*Unable to compute sky"), "warn", "sky-no-overlap"),
    (re.compile(r"\*WARNING:\*.*more unknown sky values"), "warn", "sky-underdetermined"),
    (re.compile(r"\*WARNING:\*.*Not enough data points to compute sky"), "warn",
     "sky-no-data"),
    (re.compile(r"\*WARNING:\*"), "warn", "sky-warning"),
    (re.compile(r"NO user-supplied sky value found|Setting sky to a value of 0\.0"), "warn",
     "sky-zero"),
    (re.compile(r"No CR mask file found"), "warn", "no-cr-mask"),
    (re.compile(r"Turning (?:CR rejection|blot|median) step off|step was aborted"), "warn",
     "step-skipped"),
    (re.compile(r"median image without the application of bad pixel masks"), "warn",
     "median-no-masks"),
    (re.compile(r"All pixels masked out"), "warn", "all-masked"),
    (re.compile(r"points were outside the output image"), "warn", "outside-output"),
    (re.compile(r"No Distortion coefficients available"), "warn", "no-distortion"),
    (re.compile(r"Cannot find flat field file|Treating flatfield as a constant"), "warn",
     "no-flat"),
    (re.compile(r"Static mask for file .* NOT FOUND|No matching mask"), "warn",
     "static-mask-missing"),
]
# Lines logged at WARNING that report the requested configuration, not a fault:
# re-enabled steps, and MAMA detectors' "No cte correction will be made for this ... data"
# (photon-counting detectors have no charge transfer: drizzlepac acsData.py:214 for
# ACS/SBC, stisData.py:197 for STIS/NUV-MAMA and stisData.py:310 for STIS/FUV-MAMA, 3.11).
_DRIZZLE_BENIGN = re.compile(r"Turning (?:blot|median|single drizzle) step on|"
                             r"No cte correction will be made for this "
                             r"(?:SBC|STIS/NUV-MAMA|STIS/FUV-MAMA) data")
_AD_VERSION_RE = re.compile(r"AstroDrizzle Version\s+([^\s(]+)")
_DP_VERSION_RE = re.compile(r"drizzlepac Version\s*->\s*(\S+)")
_STATIC_RE = re.compile(r"Saving static mask to disk:\s*(?:\S*/)?([A-Za-z0-9]*?)_\d+x\d+_\d+"
                        r"_staticMask")
_INSTRUMENTS = ("WFC3", "WFPC2", "ACS", "STIS", "NICMOS")
# The driz_cr step off, as the log says it: "Cosmic-ray identification (driz_cr) step not
# performed", or the logged parameter ("\tdriz_cr :\tFalse", older "\tdriz_cr \tFalse").
# Then adrizzle.py:743's "No CR mask file found! Input DQ array not updated." (3.11) is
# the requested configuration: there is no CR mask to apply.
_NO_CR_STEP = re.compile(r"driz_cr\)? step not performed|^\t\s*driz_cr\s*:?\s*False\s*$",
                         re.I)


def _instrument_detector(names: set[str]) -> tuple[str | None, str | None]:
    pairs = set()
    for name in names:
        for inst in _INSTRUMENTS:
            if name.upper().startswith(inst) and len(name) > len(inst):
                pairs.add((inst, name[len(inst):].upper()))
    return pairs.pop() if len(pairs) == 1 else (None, None)


def read_drizzle_log(path: str | os.PathLike) -> DrizzleLog:
    """Read an AstroDrizzle runfile (3.1.x of 2019 or drizzlepac 3.11).

    Parameters
    ----------
    path : str or path-like
        The runfile (``astrodrizzle.log``, ``f814w_driz.log`` ...).

    Returns
    -------
    DrizzleLog
        Version, the logged parameters (last value wins), the instrument/detector named
        by the static masks, and ``notable`` lines: e.g. ``sky-fallback`` (warn) when
        ``skymethod='match'`` failed and drizzlepac ``sky.py`` logged "Reverting sky
        computation to "localmin" ..."; stsci.skypac ``*WARNING:*`` lines; "No CR mask
        file found" (warn unless the log says the driz_cr step was not performed, when it
        is the requested configuration); errors and tracebacks (fail).

    Raises
    ------
    ProductReadError
        If the file cannot be read or is not an AstroDrizzle log.
    """
    lines, console = as_logged(read_lines(path))
    spans = RunSpans()
    notes = Notes(str(path), spans)
    exc = Exceptions(notes)
    banner = Banner(notes)
    version, params, masks, recognised = "", {}, set(), False
    no_cr_step = any(_NO_CR_STEP.search(split(line)[1]) for line in lines)
    for lineno, line in enumerate(lines, start=1):
        level, msg = split(line)
        spans.see(lineno, level, msg)
        if level is None:
            exc.continuation(line, lineno)
            recognised |= line.startswith("==== Processing Step")
            continue
        exc.close()
        if banner.see(lineno, level, unbox(msg), 0):
            recognised = True  # "AstroDrizzle Version ... encountered a problem!"
            continue
        if level in ("ERROR", "CRITICAL"):
            exc.error(lineno, msg.strip(), 0)
            continue
        if msg.startswith("\t") and (p := PARAM_RE.match(msg)):
            params[p.group(1)] = p.group(2)
            continue
        body = unbox(msg)
        if m := _AD_VERSION_RE.search(body) or _DP_VERSION_RE.search(body):
            version = version or m.group(1)
            recognised = True
            continue
        if m := _STATIC_RE.search(body):
            masks.add(m.group(1))
        recognised |= "Processing Step" in body or "AstroDrizzle" in body
        _drizzle_notable(notes, lineno, level, body, no_cr_step)
    exc.close()
    if not recognised:
        raise ProductReadError(path, "is not an AstroDrizzle log: no AstroDrizzle banner "
                               "and no 'Processing Step' line")
    instrument, detector = _instrument_detector(masks)
    return DrizzleLog(path=str(path), version=version, notable=notes.frozen(),
                      params=params, instrument=instrument, detector=detector,
                      spans=spans.frozen(), console=console)


def _drizzle_notable(notes: Notes, lineno: int, level: str, body: str,
                     no_cr_step: bool) -> None:
    for regex, lvl, kind in _DRIZZLE_RULES:
        if regex.search(body):
            if kind == "no-cr-mask" and no_cr_step:
                return
            notes.add(lineno, lvl, kind, body)
            return
    if (level == "WARNING" or body.startswith("WARNING")) and body and \
            not PYWARNING_RE.search(body) and not _DRIZZLE_BENIGN.search(body):
        notes.add(lineno, "warn", "log-warning", body)
