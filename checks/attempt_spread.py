"""How far the solutions of several TweakReg attempts on one image spread.

A runfile often holds several attempts on the same image: a user tries parameters until
the fit is good. A poor early attempt followed by a good one is the normal way to work.
But two attempts that each fit well (small rms) and yet put the image in places many
times their rms apart cannot both be right: at least one matched the wrong sources (a
false peak of the 2D histogram in a crowded or repetitive field) and fitted that false
match tightly. Which one is wrong cannot be told from the log; that they disagree can.
"""
from __future__ import annotations

import math
from itertools import combinations
from typing import Iterator

from .display import Column
from .products import ImageFit, TweakRegLog, file_name
from .registry import check
from .result import Measurement, Status

__all__ = ["attempt_spread"]


def _usable(fit: ImageFit) -> bool:
    return not fit.failed and all(math.isfinite(v) for v in (fit.xsh, fit.ysh, fit.xrms,
                                                             fit.yrms))


def _rms(fit: ImageFit) -> float:
    return max(fit.xrms, fit.yrms)


def _where(fit: ImageFit, n_runs: int) -> str:
    return f"run {fit.run + 1} of {n_runs} (line {fit.line})"


def _describe(fit: ImageFit, n_runs: int) -> str:
    return (f"{_where(fit, n_runs)}: shift ({fit.xsh:.4f}, {fit.ysh:.4f}) px, rms "
            f"{_rms(fit):.3g} px, {fit.n_matches if fit.n_matches is not None else '?'} "
            "matches")


@check("attempt_spread", needs=("tweakreg_log",), unit="",
       summary=(Column("attempt spread / rms (max)", "max"),),
       description="Two TweakReg attempts on one image each fitted well, yet their "
                   "solutions lie many times their rms apart: at least one is a false "
                   "match, fitted tightly to the wrong sources.")
def attempt_spread(tweakreg_log: TweakRegLog, good_rms_px: float = 0.1
                   ) -> Iterator[Measurement]:
    """One measurement per image the log fitted more than once against the same reference.

    The value is the largest distance between the shifts of two good attempts (``max(xrms,
    yrms)`` at most ``good_rms_px``, pixels of the fit frame) divided by the larger of
    their two rms: how many times their rms they disagree. Attempts against different
    references are in different frames and are not compared. With fewer than two good
    attempts the spread of all attempts is reported and the value is 0: a poor attempt
    followed by a good one is how one works, not a warning.
    """
    log = tweakreg_log
    n_runs = max(len(log.runs), 1)
    groups: dict[tuple[str, str], list[ImageFit]] = {}
    for fit in log.fits:
        if _usable(fit):
            key = (file_name(fit.image).lower(), file_name(fit.reference).lower())
            groups.setdefault(key, []).append(fit)
    for (_, reference), fits in groups.items():
        if len(fits) < 2:
            continue
        image = file_name(fits[0].image)
        attempts = [_describe(f, n_runs) for f in fits]
        spread = max(math.hypot(a.xsh - b.xsh, a.ysh - b.ysh)
                     for a, b in combinations(fits, 2))
        details = {"attempts": attempts, "spread_px": spread,
                   "reference": fits[0].reference, "good_rms_px": good_rms_px}
        others = [f"{f.reference or 'another reference'}, {_describe(f, n_runs)}"
                  for (img, ref), fs in groups.items() if img == file_name(image).lower()
                  and ref != reference for f in fs]
        if others:  # another reference is another frame: listed, not compared
            details["other_references"] = others
        good = [f for f in fits if _rms(f) <= good_rms_px]
        against = f" against {fits[0].reference}" if reference else ""
        if len(good) < 2:
            yield Measurement(
                image, 0.0, f"{image}: {len(fits)} attempts{against}, shifts within "
                f"{spread:.3g} px; {len(good)} of them fitted within {good_rms_px:g} px "
                f"rms, so there are no two good solutions to compare ({'; '.join(attempts)})",
                details | {"good_attempts": len(good)})
            continue
        ratio, pair = max(((math.hypot(a.xsh - b.xsh, a.ysh - b.ysh)
                            / max(_rms(a), _rms(b), 1e-9), (a, b))
                           for a, b in combinations(good, 2)), key=lambda t: t[0])
        a, b = pair
        distance = math.hypot(a.xsh - b.xsh, a.ysh - b.ysh)
        details |= {"good_attempts": len(good), "ratio": ratio, "pair": [
            _where(a, n_runs), _where(b, n_runs)]}
        yield Measurement(
            image, ratio, f"{image}: {len(good)} good attempts{against} (rms <= "
            f"{good_rms_px:g} px) lie up to {distance:.3g} px apart, {ratio:.3g} times "
            f"their rms ({_where(a, n_runs)} and {_where(b, n_runs)}); attempts: "
            f"{'; '.join(attempts)}", details)

    if not any(len(fits) >= 2 for fits in groups.values()):
        yield Measurement(file_name(log.path), math.nan,
                          f"{file_name(log.path)}: no image was fitted more than once "
                          "against the same reference: no attempts to compare.",
                          {"attempts": len(log.fits)}, status=Status.SKIP)
