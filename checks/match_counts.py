"""Number of sources each image's TweakReg fit is based on (and images that got none)."""
from __future__ import annotations

import math
from typing import Iterator

from .products import FitMatches, ImageFit, TweakRegLog
from .registry import check
from .result import Measurement, Status

__all__ = ["match_counts"]


def _base(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def _failed(image: str, fit: ImageFit, log: TweakRegLog, note: str = "") -> Measurement:
    return Measurement(
        image, math.nan,
        f"{image}: TweakReg could not align it: {fit.reason} "
        f"({_base(log.path)} line {fit.line}){note}.",
        {"log_line": fit.line, "reason": fit.reason, "n_sources": fit.n_sources},
        status=Status.FAIL)


@check("match_counts", needs=(), optional=("fit_matches", "tweakreg_log"), unit="",
       description="Too few matched sources constrain an image's TweakReg fit: the "
                   "solution may be wrong even if its RMS looks small.")
def match_counts(fit_matches: tuple[FitMatches, ...] = (),
                 tweakreg_log: TweakRegLog | None = None,
                 min_matched_fraction: float = 0.0) -> Iterator[Measurement]:
    """Count the sources each image's final fit used.

    The count is the number of rows of the image's ``*_catalog_fit.match`` (TweakReg's
    "Final solution based on N objects"), or the log's value when there is no match
    file. An image the log's last attempt failed ("Not enough matches", fewer than
    ``minobj`` sources) fails explicitly, so a failed image is never silently absent.
    ``details`` give the fraction of the image's detected sources that were matched;
    below ``min_matched_fraction`` (a threshold parameter) that adds a warning.
    """
    latest = {_base(k): v for k, v in (tweakreg_log.latest_fits() if tweakreg_log else {})
              .items()}
    seen = set()
    for fm in fit_matches:
        image = _base(fm.image)
        seen.add(image)
        fit = latest.get(image)
        if fit is not None and fit.failed:
            yield _failed(image, fit, tweakreg_log,
                          f"; {_base(fm.path)} is left from an earlier run")
            continue
        yield from _count(image, len(fm.table), _base(fm.path), fit, min_matched_fraction)
    for image, fit in latest.items():
        if image in seen:
            continue
        if fit.failed:
            yield _failed(image, fit, tweakreg_log)
        elif fit.n_matches is not None:
            yield from _count(image, fit.n_matches,
                              f"{_base(tweakreg_log.path)} line {fit.line}", fit,
                              min_matched_fraction)


def _count(image: str, n: int, source: str, fit: ImageFit | None,
           min_fraction: float) -> Iterator[Measurement]:
    details = {"n_matches": n, "source": source}
    message = f"{image}: fit based on {n} matched sources ({source})"
    n_sources = fit.n_sources if fit is not None else None
    fraction = None
    if n_sources:
        fraction = n / n_sources
        details.update(n_sources=n_sources, matched_fraction=round(fraction, 4))
        message += f", {fraction:.1%} of the {n_sources} it detected"
    if fit is not None and fit.n_matches is not None and fit.n_matches != n:
        details["log_n_matches"] = fit.n_matches
    yield Measurement(image, n, message + ".", details)
    if fraction is not None and fraction < min_fraction:
        yield Measurement(f"{image}:matched_fraction", fraction,
                          f"{image}: only {fraction:.1%} of its {n_sources} detected sources "
                          f"were matched (below {min_fraction:.1%}): many detections are "
                          "spurious (cosmic rays, noise) or outside the overlap.",
                          details, status=Status.WARN)
