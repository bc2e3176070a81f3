"""Did the alignment align anything? "Nothing aligned" is a failure, never a pass."""
from __future__ import annotations

import math
from typing import Iterator

from .display import Column
from .products import FitMatches, ShiftFile, StaleProduct, TweakRegLog, file_name
from .registry import check
from .result import Measurement

__all__ = ["images_aligned"]


def _from_log(log: TweakRegLog) -> tuple[int, str] | None:
    """Images the log's last TweakReg run aligned, and how the message says it."""
    if not log.runs:
        return None
    last = log.runs[-1]
    where = f"{file_name(log.path)} run {last.index + 1} of {len(log.runs)} (line {last.line})"
    quit_ = [n for n in log.notable if n.kind in ("quit", "no-input") and
             n.line >= last.line]
    fits = [f for f in log.fits if f.run == last.index]
    aligned = [f.image for f in fits if not f.failed]
    if quit_ and not aligned:
        return 0, f"TweakReg quit in {where}, line {quit_[0].line}: {quit_[0].text!r}"
    if last.stopped and not fits:
        return 0, f"{where} stopped before fitting any image: {last.stopped}"
    failed = [f"{f.image} ({f.reason or 'failed'})" for f in fits if f.failed]
    text = f"{where} aligned {len(aligned)} image(s)"
    if failed:
        text += f"; could not align {', '.join(failed)}"
    if not fits:
        text += " (it fitted none: fewer than two images, or it stopped before fitting)"
    return len(aligned), text


def _from_shiftfile(sf: ShiftFile) -> tuple[int, str]:
    rows = [r for r in sf.rows if not r.is_reference]
    good = [r.image for r in rows if all(math.isfinite(v) for v in (
        r.xsh, r.ysh, r.rot, r.scale, r.xrms, r.yrms))]
    text = f"{sf.name} has {len(good)} fitted row(s) of {len(rows)} non-reference row(s)"
    if rows and not good:
        text += " (every row is NaN)"
    return len(good), text


@check("images_aligned", needs=(),
       optional=("tweakreg_log", "shiftfiles", "fit_matches", "stale"), unit="",
       summary=(Column("images aligned", "min"),),
       description="An alignment was attempted and aligned no image (TweakReg quit, "
                   "crashed, had only one image, or could fit none; every shift-file row "
                   "NaN): nothing was aligned, so the dataset cannot pass. A folder "
                   "without TweakReg products (a drizzle-only run) is not applicable.")
def images_aligned(tweakreg_log: TweakRegLog | None = None,
                   shiftfiles: tuple[ShiftFile, ...] = (),
                   fit_matches: tuple[FitMatches, ...] = (),
                   stale: tuple[StaleProduct, ...] = ()) -> Iterator[Measurement]:
    """One measurement per dataset: how many images the (last) alignment aligned.

    From the TweakReg log's last run when there is a log (its fits that did not fail; a
    "Quitting" line or a crash with no fit means none), else from the shift files (rows
    other than the reference's that are not NaN), else from the ``*_catalog_fit.match``
    files (one per aligned image). Only stale files left: 0. A folder with no TweakReg
    product at all is skipped by the registry ("not applicable: no TweakReg
    products"): nothing there says an alignment was attempted.
    """
    found = _from_log(tweakreg_log) if tweakreg_log is not None else None
    if found is None and shiftfiles:
        counts = [_from_shiftfile(sf) for sf in shiftfiles]
        found = (max(n for n, _ in counts), "; ".join(t for _, t in counts))
    if found is None and fit_matches:
        found = (len(fit_matches), f"{len(fit_matches)} *_catalog_fit.match file(s), one "
                 "per aligned image")
    if found is None:  # the registry calls this only with some TweakReg product
        found = (0, f"no current alignment product: the {len(stale)} shift or match "
                 "file(s) here are all from an earlier attempt (see stale_products)")
    n, text = found
    yield Measurement("alignment", float(n), f"{text}.", {"images_aligned": n})
