"""Shift-file rows TweakReg could not fill (NaN), and images it left out altogether."""
from __future__ import annotations

import math
from typing import Iterator

from .products import ShiftFile, TweakRegLog, TweakRegRun
from .registry import check
from .result import Measurement

__all__ = ["shiftfile_nans"]

_FIELDS = ("xsh", "ysh", "rot", "scale", "xrms", "yrms")


def _base(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def _writer(log: TweakRegLog | None, name: str) -> TweakRegRun | None:
    """The last TweakReg run of ``log`` that wrote the shift file called ``name``."""
    runs = [r for r in (log.runs if log else ()) if r.shiftfile == name]
    return runs[-1] if runs else None


@check("shiftfile_nans", needs=("shiftfiles",), optional=("tweakreg_log",), unit="",
       description="TweakReg could not fit an image (NaN in its shift-file row) or left it "
                   "out of the shift file: drizzling would use its unaligned WCS.")
def shiftfile_nans(shiftfiles: tuple[ShiftFile, ...],
                   tweakreg_log: TweakRegLog | None = None) -> Iterator[Measurement]:
    """Count NaN fields per shift-file row (``xsh ysh rot scale xrms yrms``).

    With the TweakReg log, an image that the run which wrote the shift file was given
    ("Finding shifts for:") but that has no row (TweakReg omits images with fewer than
    ``minobj`` sources) is reported with all six fields missing.
    """
    for sf in shiftfiles:
        for row in sf.rows:
            nans = [f for f in _FIELDS if math.isnan(getattr(row, f))]
            message = (f"{row.image} ({sf.name} line {row.line}): NaN in "
                       f"{', '.join(nans)}." if nans else
                       f"{row.image} ({sf.name} line {row.line}): no NaN.")
            yield Measurement(f"{sf.name}:{row.image}", len(nans), message,
                              {"line": row.line, "nan_fields": ", ".join(nans)})
        run = _writer(tweakreg_log, sf.name)
        if run is None:
            continue
        present = {_base(row.image) for row in sf.rows}
        fits = {_base(f.image): f for f in tweakreg_log.fits if f.run == run.index}
        for image in run.images:
            if _base(image) in present:
                continue
            fit = fits.get(_base(image))
            why = f" ({fit.reason}, log line {fit.line})" if fit and fit.reason else ""
            yield Measurement(
                f"{sf.name}:{image}", len(_FIELDS),
                f"{image} was an input of the TweakReg run that wrote {sf.name} "
                f"(log line {run.line}) but has no row{why}.",
                {"line": 0, "nan_fields": "missing row", "log_line": run.line})
