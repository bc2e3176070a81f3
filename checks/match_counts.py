"""Number of sources each image's TweakReg fit is based on (and images that got none)."""
from __future__ import annotations

import math
from typing import Iterator

from . import plots
from .display import Column, Figure
from .products import (FitMatches, ImageFit, ShiftFile, SourceCatalog, TweakRegLog,
                       file_name)
from .registry import check
from .result import Measurement, Status

__all__ = ["match_counts"]


def _failed(image: str, fit: ImageFit, log: TweakRegLog, note: str = "") -> Measurement:
    return Measurement(
        image, math.nan,
        f"{image}: TweakReg could not align it: {fit.reason} "
        f"({file_name(log.path)} line {fit.line}){note}.",
        {"log_line": fit.line, "reason": fit.reason, "n_sources": fit.n_sources},
        status=Status.FAIL)


def matched_figures(results, products) -> Iterator[Figure]:
    """Where the matched sources of every fit lie."""
    fms = products.fit_matches
    if fms:
        yield Figure("matched sources", ("matched", [fm.path for fm in fms]),
                     lambda: plots.matched_sources_plot(fms))


@check("match_counts", needs=(), optional=("fit_matches", "tweakreg_log", "shiftfiles",
                                         "catalogs"), unit="",
       figures=matched_figures, summary=(Column("matches (min)", "min"),),
       description="Too few matched sources constrain an image's TweakReg fit: the "
                   "solution may be wrong even if its RMS looks small.")
def match_counts(fit_matches: tuple[FitMatches, ...] = (),
                 tweakreg_log: TweakRegLog | None = None,
                 shiftfiles: tuple[ShiftFile, ...] = (),
                 catalogs: tuple[SourceCatalog, ...] = (),
                 min_matched_fraction: float = 0.0) -> Iterator[Measurement]:
    """Count the sources each image's final fit used.

    The count is the number of rows of the image's ``*_catalog_fit.match`` (TweakReg's
    "Final solution based on N objects"), or the log's value when there is no match
    file. An image the log's last attempt failed ("Not enough matches", fewer than
    ``minobj`` sources) fails explicitly, so a failed image is never silently absent.
    ``details`` give the fraction of the image's detected sources that were matched;
    below ``min_matched_fraction`` (a threshold parameter) that adds a warning.

    Without the TweakReg log, the shift files and source catalogues stand in for it: an
    image with a NaN shift-file row, or with a source catalogue (``*_fl[ct]``) but neither
    a row nor a match file, fails; an image with a fitted row but no match file is
    reported as not countable (``skip``). The reference image's row is not an image fit.
    """
    latest = {file_name(k): v for k, v in (tweakreg_log.latest_fits() if tweakreg_log else {})
              .items()}
    seen = set()
    for fm in fit_matches:
        image = file_name(fm.image)
        seen.add(image)
        fit = latest.get(image)
        if fit is not None and fit.failed:
            yield _failed(image, fit, tweakreg_log,
                          f"; {file_name(fm.path)} is left from an earlier run")
            continue
        yield from _count(image, len(fm.table), file_name(fm.path), fit, min_matched_fraction)
    for image, fit in latest.items():
        if image in seen:
            continue
        if fit.failed:
            yield _failed(image, fit, tweakreg_log)
        elif fit.n_matches is not None:
            yield from _count(image, fit.n_matches,
                              f"{file_name(tweakreg_log.path)} line {fit.line}", fit,
                              min_matched_fraction)
    if tweakreg_log is None:
        yield from _without_log(seen, shiftfiles, catalogs)


def _without_log(seen: set[str], shiftfiles: tuple[ShiftFile, ...],
                 catalogs: tuple[SourceCatalog, ...]) -> Iterator[Measurement]:
    """Images no match file counts, found through the shift files and catalogues."""
    rows = {}
    for sf in shiftfiles:  # the last shift file listing an image wins
        for row in sf.rows:
            rows[file_name(row.image)] = (row, sf.name)
    for image, (row, name) in rows.items():
        if image in seen or row.is_reference:
            continue
        seen.add(image)
        where = f"{name} line {row.line}"
        if any(math.isnan(v) for v in (row.xsh, row.ysh, row.rot, row.scale)):
            yield Measurement(image, math.nan, f"{image}: TweakReg could not align it (NaN "
                              f"in {where}); it has no match file.", {"shiftfile_line": where},
                              status=Status.FAIL)
        else:
            yield Measurement(image, math.nan, f"{image}: fitted ({where}) but neither a match "
                              "file nor a TweakReg log says how many sources the fit used.",
                              {"shiftfile_line": where}, status=Status.SKIP)
    if not shiftfiles:
        return
    for cat in catalogs:
        image = file_name(cat.image)
        if image in seen or image in rows or not image.endswith(("_flc.fits", "_flt.fits")):
            continue
        seen.add(image)
        yield Measurement(image, math.nan, f"{image}: has a source catalogue "
                          f"({file_name(cat.path)}) but no row in "
                          f"{', '.join(sf.name for sf in shiftfiles)} and no match file: "
                          "TweakReg left it out (too few sources to fit?).",
                          {"catalog": file_name(cat.path)}, status=Status.FAIL)


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
