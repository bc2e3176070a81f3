"""Compare a run's results with an accepted baseline run (pure: records in, records out).

A result regresses when its observed value moved in the direction the threshold calls
worse by more than ``regression`` (relative to the baseline value) and by more than
``regression_abs`` (in the check's unit). Both tolerances are threshold data
(``checks/thresholds.toml``), recorded in each result's ``threshold``.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping

from .result import CheckResult, Status

__all__ = ["regressions"]


def _key(r: CheckResult) -> tuple[str, str, str]:
    return (r.dataset, r.check, r.subject)


def regressions(results: Iterable[CheckResult], baseline: Iterable[CheckResult],
                ) -> list[CheckResult]:
    """One ``fail`` result per regression, and one ``warn`` per subject new or gone.

    Parameters
    ----------
    results : iterable of CheckResult
        This run's results of one dataset and check.
    baseline : iterable of CheckResult
        The accepted run's results (any datasets and checks; matched by key).
    """
    results = list(results)
    base: Mapping[tuple[str, str, str], CheckResult] = {_key(b): b for b in baseline}
    out = []
    for r in results:
        b = base.get(_key(r))
        if b is None or r.observed is None or b.observed is None:
            continue
        worse = r.threshold.get("worse", "higher")
        delta = r.observed - b.observed if worse == "higher" else b.observed - r.observed
        rel = float(r.threshold.get("regression", 0.2))
        floor = float(r.threshold.get("regression_abs", 0.0))
        limit = max(rel * abs(b.observed), floor)
        if delta > limit and not math.isclose(delta, limit):
            pct = f" ({delta / abs(b.observed):+.0%})" if b.observed else ""
            out.append(CheckResult(
                dataset=r.dataset, check=r.check, subject=f"{r.subject} [baseline]",
                status=Status.FAIL, observed=r.observed, unit=r.unit,
                threshold=r.threshold,
                message=(f"Regression against the baseline: {b.observed:.4g} -> "
                         f"{r.observed:.4g} {r.unit}{pct}, beyond the tolerance of "
                         f"{rel:.0%} (at least {floor:g} {r.unit})."),
                details={"baseline": b.observed, "delta": delta, "limit": limit}))
    if results:
        dataset, check = results[0].dataset, results[0].check
        mine = {_key(r) for r in results}
        for k, b in base.items():
            if k[:2] == (dataset, check) and k not in mine and b.status is not Status.SKIP:
                out.append(CheckResult(
                    dataset=dataset, check=check, subject=f"{k[2]} [baseline]",
                    status=Status.WARN, observed=None, unit=b.unit, threshold=b.threshold,
                    message="In the baseline but not in this run."))
    return out
