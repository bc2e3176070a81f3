"""Failures and silent fallbacks recorded in the TweakReg and AstroDrizzle logs."""
from __future__ import annotations

from typing import Iterator

from .products import DrizzleLog, LogLine, TweakRegLog, file_name
from .registry import check
from .result import Measurement, Status

__all__ = ["pipeline_log"]

_SHOWN = 3  # log lines quoted in a message; all are in details


def _run(n: LogLine, spans: tuple[tuple[int, int | None], ...]) -> str:
    """Which run of the task a line belongs to, e.g. ``run 2 of 2, lines 513-745``."""
    if not spans or not 0 <= n.run < len(spans):
        return ""
    first, last = spans[n.run]
    end = "end of file, no trailer" if last is None else str(last)
    return f" (run {n.run + 1} of {len(spans)}, lines {first}-{end})"


def _quote(lines: list[LogLine], spans: tuple[tuple[int, int | None], ...]) -> str:
    shown = "; ".join(f"line {n.line} [{n.kind}]{_run(n, spans)}: {n.text!r}"
                      for n in lines[:_SHOWN])
    more = f" (and {len(lines) - _SHOWN} more)" if len(lines) > _SHOWN else ""
    return shown + more


def _judge(name: str, tool: str, log: TweakRegLog | DrizzleLog) -> Measurement:
    notable, spans = log.notable, log.spans
    if log.console:
        tool += " console capture"  # read as the trailer file, said so
    fails = [n for n in notable if n.level == "fail"]
    warns = [n for n in notable if n.level == "warn"]
    superseded = [n for n in notable if n.level == "superseded"]
    details = {"fail_lines": len(fails), "warn_lines": len(warns),
               "superseded_lines": len(superseded),
               "notable": [f"line {n.line} {n.level} [{n.kind}]: {n.text}" for n in notable]}
    later = (f" Superseded by a later run's good fit, not counted: {len(superseded)} "
             f"earlier failure(s): {_quote(superseded, spans)}." if superseded else "")
    if fails:
        return Measurement(name, len(fails), f"{tool} log {name} records {len(fails)} "
                           f"failure(s): {_quote(fails, spans)}.{later}", details)
    if warns:
        return Measurement(name, 0, f"{tool} log {name} records {len(warns)} warning(s) or "
                           f"fallback(s): {_quote(warns, spans)}.{later}", details,
                           status=Status.WARN)
    runs = f" in its {len(spans)} run(s)" if spans else ""
    return Measurement(name, 0, f"{tool} log {name}: no failure or fallback{runs}.{later}",
                       details)


@check("pipeline_log", needs=(), optional=("tweakreg_log", "drizzle_log"), unit="",
       description="TweakReg or AstroDrizzle logged a failure (fail) or a silent fallback "
                   "such as a sky-matching revert (warn): the products are not what was "
                   "asked for.")
def pipeline_log(tweakreg_log: TweakRegLog | None = None,
                 drizzle_log: DrizzleLog | None = None) -> Iterator[Measurement]:
    """One measurement per log: the number of fail-level lines (any fails).

    Only lines inside the task's runs count (from a run's start to its "Trailer file
    written" line, see :class:`~hst_align_qa.checks.readers._loglines.RunSpans`), and
    not the warnings other code writes there (IPython, deprecation and numpy runtime
    warnings); each quoted line names its run. A failure of an earlier TweakReg run
    whose images a later run fitted well is superseded (trying again is the normal way
    to work): named in the message, not counted. A log with only warn-level lines
    (fallbacks, e.g. ``sky-fallback`` when
    ``skymethod='match'`` reverted to ``localmin``) is a WARN; the message quotes the
    lines with their line numbers and ``details["notable"]`` lists all of them.
    """
    if tweakreg_log is not None:
        yield _judge(file_name(tweakreg_log.path), "TweakReg", tweakreg_log)
    if drizzle_log is not None:
        yield _judge(file_name(drizzle_log.path), "AstroDrizzle", drizzle_log)
