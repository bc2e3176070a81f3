"""Which alignment products belong to the last attempt for each image.

A products directory often holds several TweakReg attempts: the runfile
(``tweakreg.log``) grows by one run per call, and a later call overwrites only the files
it writes. A ``*_catalog_fit.match`` file or a shift file left by an earlier attempt
must not be measured as if it described the last fit. Which attempt a file belongs to is
decided from content alone, never from modification times (copies and checkouts reset
them):

- the log gives, per image, its LAST attempt: the last run that listed the image in
  "Finding shifts for" or fitted it, and how that attempt ended (fitted with XRMS/YRMS
  and XSH/YSH, failed, used as the reference, or never reached because the run ended,
  crashed or quit first). A run that crashed is an attempt like any other: drizzlepac
  writes "Trailer file written to:" before it reports the unhandled exception, so a
  crashed run looks finished; its images were attempted and not fitted, and files that
  hold fits for them come from a run before it (in the real align_mosaics log at
  spacetelescope/notebooks@72c8274, from a run the log does not hold at all);
- a match file's header ("X and Y rms", "X and Y shift") and a shift file's rows must
  agree with that last attempt's values (to the log's printed precision); a finite fit in
  a file for an image whose last attempt failed comes from an earlier attempt;
- a run that crashed or quit before logging "Writing out shiftfile" with a file's name
  wrote no shift file: a shift file whose images it attempted last comes from another
  run, even when its NaN rows agree with the failed attempts;
- without a log, match files are compared with the one shift file there is.

A file that disagrees is stale: :func:`sort_attempts` sets it aside with the run it
agrees with, when one does. Nothing here opens a file.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

from .products import (FitMatches, ImageFit, ShiftFile, ShiftRow, StaleProduct, TweakRegLog,
                       TweakRegRun, file_name)

__all__ = ["Attempt", "last_attempts", "sort_attempts", "agree"]

# TweakReg logs XRMS/YRMS to two significant digits ("0.38", "0.086") and shifts to four
# decimals; match headers to three (rms) and four (shift) decimals; shift files to six.
_REL_TOL = 0.051
_ABS_TOL = 0.0011
_FIELDS = ("xrms", "yrms", "xsh", "ysh")


def agree(a: float, b: float) -> bool:
    """Two logged values of one quantity are the same within the logs' rounding.

    NaN agrees only with NaN.
    """
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= _REL_TOL * max(abs(a), abs(b)) + _ABS_TOL


@dataclass(frozen=True)
class Attempt:
    """The last attempt a TweakReg log records for one image."""

    image: str
    run: TweakRegRun | None  # None for logs without run banners
    outcome: str  # "fitted" | "failed" | "reference" | "not reached"
    fit: ImageFit | None
    n_runs: int

    def where(self) -> str:
        if self.run is None:
            return "the log's last fit" if self.fit is None else f"line {self.fit.line}"
        return f"run {self.run.index + 1} of {self.n_runs} (line {self.run.line})"

    def describe(self) -> str:
        if self.outcome == "fitted":
            return f"the last attempt, {self.where()}, fitted it"
        if self.outcome == "failed":
            why = self.fit.reason if self.fit is not None and self.fit.reason else "no fit"
            return f"the last attempt, {self.where()}, failed ({why})"
        if self.outcome == "reference":
            return f"the last attempt, {self.where()}, used it as the reference"
        if self.run is not None and self.run.stopped:
            ended = f"stopped before fitting it ({self.run.stopped})"
        elif self.run is not None and not self.run.completed:
            ended = "ended before fitting it"
        else:
            ended = "did not fit it"
        return f"the last attempt, {self.where()}, {ended}"


def _key(name: str) -> str:
    return file_name(name).lower()


def _fitted(fit: ImageFit) -> bool:
    return not fit.failed and not (math.isnan(fit.xrms) and math.isnan(fit.yrms))


def last_attempts(log: TweakRegLog | None) -> dict[str, Attempt]:
    """Per image (lower-case file name), the last attempt ``log`` records."""
    if log is None:
        return {}
    out: dict[str, Attempt] = {}
    runs = {run.index: run for run in log.runs}
    n_runs = len(log.runs)
    order: list[tuple[int, str]] = []  # (run index, image) in file order
    for run in log.runs:
        order += [(run.index, _key(image)) for image in run.images]
    for fit in log.fits:
        order.append((fit.run, _key(fit.image)))
    last_run: dict[str, int] = {}
    for run_index, image in order:
        last_run[image] = max(run_index, last_run.get(image, run_index))
    fits: dict[tuple[int, str], ImageFit] = {}
    references: dict[int, set[str]] = {}
    for fit in log.fits:
        fits[(fit.run, _key(fit.image))] = fit  # the last block of an image in a run wins
        if fit.reference:
            references.setdefault(fit.run, set()).add(_key(fit.reference))
    for image, run_index in last_run.items():
        fit = fits.get((run_index, image))
        run = runs.get(run_index)
        if fit is not None:
            outcome = "fitted" if _fitted(fit) else "failed"
        elif image in references.get(run_index, set()):
            outcome = "reference"
        else:
            outcome = "not reached"
        out[image] = Attempt(image=image, run=run, outcome=outcome, fit=fit, n_runs=n_runs)
    return out


def _values_of_row(row: ShiftRow) -> dict[str, float]:
    if math.isnan(row.xsh) or math.isnan(row.ysh):  # TweakReg writes "nan nan nan nan 0 0"
        return dict.fromkeys(_FIELDS, math.nan)
    return {"xrms": row.xrms, "yrms": row.yrms, "xsh": row.xsh, "ysh": row.ysh}


def _values_of_matches(fm: FitMatches) -> dict[str, float]:
    header = fm.header or {}
    return {k: float(header[k]) for k in _FIELDS if k in header}


def _values_of_fit(fit: ImageFit) -> dict[str, float]:
    return {k: getattr(fit, k) for k in _FIELDS}


def _same(values: Mapping[str, float], other: Mapping[str, float]) -> bool | None:
    """Whether two sets of values agree on every field both have finite (None: no field
    to compare; a fit that failed agrees only with NaN values)."""
    shared = [k for k in _FIELDS if k in values and k in other]
    if not shared:
        return None
    if all(math.isnan(other[k]) for k in shared):
        return all(math.isnan(values[k]) for k in shared)
    return all(agree(values[k], other[k]) for k in shared)


def _earlier(log: TweakRegLog, image: str, values: Mapping[str, float],
             before: int) -> ImageFit | None:
    """The latest fit of ``image`` before run ``before`` whose values agree."""
    for fit in reversed(log.fits):
        if fit.run < before and _key(fit.image) == image and _fitted(fit) \
                and _same(values, _values_of_fit(fit)):
            return fit
    return None


def _verdict(log: TweakRegLog, attempt: Attempt, values: Mapping[str, float]) -> str | None:
    """Why values for ``attempt.image`` are not from its last attempt (None: they are, or
    it cannot be told)."""
    finite = any(math.isfinite(v) for v in values.values())
    if attempt.outcome == "fitted":
        same = _same(values, _values_of_fit(attempt.fit))  # type: ignore[arg-type]
        if same is None or same:
            return None
        got = ", ".join(f"{k} {values[k]:.4g}" for k in _FIELDS if k in values)
        want = ", ".join(f"{k} {getattr(attempt.fit, k):.4g}" for k in _FIELDS
                         if k in values and math.isfinite(getattr(attempt.fit, k)))
        reason = f"{got} differ from {attempt.describe()} with {want}"
    elif attempt.outcome == "failed":
        if not finite:
            return None
        reason = f"it holds a fit, but {attempt.describe()}"
    elif attempt.outcome == "reference":
        if not finite or all(v == 0.0 for v in values.values()):
            return None
        reason = f"it holds a fit, but {attempt.describe()}"
    else:
        if not finite:
            return None
        reason = f"it holds a fit, but {attempt.describe()}"
    before = attempt.run.index if attempt.run is not None else len(log.runs)
    earlier = _earlier(log, attempt.image, values, before) if finite else None
    if earlier is not None:
        reason += (f"; it matches the fit of run {earlier.run + 1} (line {earlier.line}), "
                   f"an earlier attempt")
    return reason


def _writer(log: TweakRegLog | None, name: str) -> str:
    if log is None:
        return ""
    for run in reversed(log.runs):
        if run.shiftfile and _key(run.shiftfile) == _key(name):
            return f" (written by run {run.index + 1} of {len(log.runs)}, line {run.line})"
    return f" (written by a run that is not in {file_name(log.path)})"


def _not_written_by_last(sf: ShiftFile, log: TweakRegLog,
                         attempts: Mapping[str, Attempt]) -> str | None:
    """Why ``sf`` cannot be from the last run that attempted its images, if it cannot.

    When that run (the latest of its rows' last attempts) crashed or quit without
    logging "Writing out shiftfile : <name>", it wrote no shift file: the file in the
    folder is from another run, whatever its rows hold (NaN rows agree with the failed
    attempts, but do not make the file current). A run that finished without writing
    one (``shiftfile=False``, e.g. the final ``updatehdr`` call repeating a fit) says
    nothing against an earlier file whose values agree with it: the rows decide.
    """
    runs = [a.run for row in sf.rows if not row.is_reference
            and (a := attempts.get(_key(row.image))) is not None and a.run is not None]
    if not runs:
        return None
    last = max(runs, key=lambda r: r.index)
    if _key(last.shiftfile or "") == _key(sf.name):
        return None
    if not last.stopped:
        return None
    wrote = f"wrote {last.shiftfile}" if last.shiftfile else (
        "wrote no shift file (it never logged 'Writing out shiftfile')")
    return (f"the last run to attempt its images, run {last.index + 1} of {len(log.runs)} "
            f"(line {last.line}), stopped ({last.stopped}) and {wrote}")


def _stale_shiftfile(sf: ShiftFile, log: TweakRegLog,
                     attempts: Mapping[str, Attempt]) -> StaleProduct | None:
    bad = []
    for row in sf.rows:
        attempt = attempts.get(_key(row.image))
        if attempt is None or row.is_reference:
            continue
        why = _verdict(log, attempt, _values_of_row(row))
        if why is not None:
            bad.append(f"line {row.line} ({row.image}): {why}")
    if not bad and (why := _not_written_by_last(sf, log, attempts)) is not None:
        # every row agrees (NaN rows with failed attempts), yet the file is not its
        return StaleProduct(path=sf.path, kind="shiftfiles",
                            reason=f"{sf.name}{_writer(log, sf.name)} is from another "
                                   f"run: {why}")
    if not bad:
        return None
    more = f" (and {len(bad) - 1} more row(s))" if len(bad) > 1 else ""
    return StaleProduct(path=sf.path, kind="shiftfiles",
                        reason=f"{sf.name}{_writer(log, sf.name)} is from an earlier "
                               f"attempt: {bad[0]}{more}")


def _stale_matches(fm: FitMatches, log: TweakRegLog,
                   attempts: Mapping[str, Attempt]) -> StaleProduct | None:
    attempt = attempts.get(_key(fm.image))
    if attempt is None:
        return None
    values = _values_of_matches(fm)
    if attempt.outcome in ("failed", "reference", "not reached"):
        # a match file is written only by a fit: none can be from this attempt
        earlier = _earlier(log, attempt.image, values,
                           attempt.run.index if attempt.run is not None else len(log.runs))
        reason = f"{file_name(fm.path)} is from an earlier attempt: {attempt.describe()}"
        if earlier is not None:
            reason += (f"; the file matches the fit of run {earlier.run + 1} "
                       f"(line {earlier.line})")
        elif not any(_key(f.image) == attempt.image and _fitted(f) for f in log.fits):
            reason += (f"; no run in {file_name(log.path)} fitted it: the file was written "
                       "by a run that is not in this log")
        return StaleProduct(path=fm.path, kind="fit_matches", reason=reason)
    why = _verdict(log, attempt, values)
    if why is None:
        return None
    return StaleProduct(path=fm.path, kind="fit_matches",
                        reason=f"{file_name(fm.path)} is from an earlier attempt: {why}")


def _stale_against_shiftfile(fm: FitMatches, sf: ShiftFile) -> StaleProduct | None:
    rows = {_key(row.image): row for row in sf.rows}
    row = rows.get(_key(fm.image))
    if row is None:
        return None
    values = _values_of_row(row)
    mine = _values_of_matches(fm)
    if all(math.isnan(v) for v in values.values()):
        why = f"{sf.name} line {row.line} has no fit (NaN) for {row.image}"
    elif _same(mine, values) is False:
        why = (f"its rms/shift differ from {sf.name} line {row.line} ("
               + ", ".join(f"{k} {mine[k]:.4g} vs {values[k]:.4g}" for k in _FIELDS
                           if k in mine) + ")")
    else:
        return None
    return StaleProduct(path=fm.path, kind="fit_matches",
                        reason=f"{file_name(fm.path)} is from an earlier attempt: {why}")


def sort_attempts(shiftfiles: Iterable[ShiftFile], fit_matches: Iterable[FitMatches],
                  log: TweakRegLog | None,
                  ) -> tuple[tuple[ShiftFile, ...], tuple[FitMatches, ...],
                             tuple[StaleProduct, ...]]:
    """Split shift files and match files into current ones and stale ones.

    Parameters
    ----------
    shiftfiles, fit_matches : iterables
        Parsed products of one directory.
    log : TweakRegLog or None
        Its TweakReg runfile, if any.

    Returns
    -------
    (shiftfiles, fit_matches, stale)
        The files of the last attempt (or whose attempt cannot be told), and the others
        with the reason, naming the file, the rows or values and the attempts.
    """
    shiftfiles, fit_matches = tuple(shiftfiles), tuple(fit_matches)
    attempts = last_attempts(log)
    stale: list[StaleProduct] = []
    if attempts and log is not None:
        for sf in shiftfiles:
            got = _stale_shiftfile(sf, log, attempts)
            if got is not None:
                stale.append(got)
        for fm in fit_matches:
            got = _stale_matches(fm, log, attempts)
            if got is not None:
                stale.append(got)
    gone = {s.path for s in stale}
    current_sf = tuple(sf for sf in shiftfiles if sf.path not in gone)
    if len(current_sf) == 1:
        for fm in fit_matches:
            if fm.path in gone:
                continue
            got = _stale_against_shiftfile(fm, current_sf[0])
            if got is not None:
                stale.append(got)
                gone.add(fm.path)
    return (current_sf, tuple(fm for fm in fit_matches if fm.path not in gone), tuple(stale))
