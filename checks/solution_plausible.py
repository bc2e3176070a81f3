"""Is a TweakReg solution one that HST visits and TweakReg's own search allow?

A small fit RMS does not make a solution right: TweakReg can converge on a wrong match
(the STScI notebook's first run "succeeded" with one). This check measures, per image of
each current shift file, how close its solution comes to what cannot be right, as a
fraction of a limit (1 or more fails):

- **shift**: ``|(xsh, ysh)|`` against ``shift_factor x (searchrad + tolerance)``, the
  largest correction TweakReg's search can return with some margin (jwst/stcal's
  ``tweakreg`` rejects corrections above 2 x (searchrad + tolerance)). Needs the log's
  ``searchrad``/``searchunits``/``tolerance`` of the run, and the pixel scale when the
  search radius is in arcseconds.
- **rotation** and **scale**: ``|rot|`` and ``|scale - 1|`` against
  ``max_rotation_deg`` and ``max_scale_deviation`` (see the thresholds' note).
- **consistency within a visit** (drizzlepac ``align.determine_fit_quality``): the
  exposures of one visit share a guide-star acquisition, so their shifts agree to within
  the fit RMS or 20 mas; the spread ``sqrt(std(xsh)^2 + std(ysh)^2)`` of a visit's
  fitted exposures against ``max(largest xrms/yrms, consistency_mas / scale)``.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Iterator

import numpy as np

from .display import Column
from .fit_rms import pixel_scales
from .products import Context, InputExposure, ShiftFile, ShiftRow, TweakRegLog, file_name
from .registry import check
from .result import Measurement, Status

__all__ = ["solution_plausible"]


def _float(text: str | None) -> float:
    try:
        return float(str(text).strip().strip("'\""))
    except (TypeError, ValueError):
        return math.nan


def _search(log: TweakRegLog | None, sf: ShiftFile) -> tuple[dict[str, str], str]:
    """The parameters of the run that wrote ``sf`` (else the last run's), and which."""
    if log is None or not log.runs:
        return {}, ""
    runs = [r for r in log.runs if r.shiftfile and file_name(r.shiftfile) == sf.name]
    run = runs[-1] if runs else log.runs[-1]
    return dict(run.params), f"run {run.index + 1} of {len(log.runs)}"


def _shift_limit(params: dict[str, str], scale: float | None,
                 shift_factor: float) -> tuple[float, str] | None:
    """``shift_factor x (searchrad + tolerance)`` in pixels, and how it was found."""
    searchrad, tolerance = _float(params.get("searchrad")), _float(params.get("tolerance"))
    units = str(params.get("searchunits", "")).strip().strip("'\"").lower()
    if not math.isfinite(searchrad) or not units:
        return None
    if not math.isfinite(tolerance):
        tolerance = 1.0  # TweakReg's default (pixels)
    if units.startswith("arcsec"):
        if not scale:
            return None
        radius = searchrad / scale
        how = f"searchrad {searchrad:g} arcsec = {radius:.1f} px"
    else:
        radius = searchrad
        how = f"searchrad {searchrad:g} px"
    limit = shift_factor * (radius + tolerance)
    return limit, f"{shift_factor:g} x ({how} + tolerance {tolerance:g} px) = {limit:.1f} px"


def _rotation(row: ShiftRow) -> float:
    rot = row.rot % 360.0
    return min(rot, 360.0 - rot)


def _row_ok(row: ShiftRow) -> bool:
    return all(math.isfinite(v) for v in (row.xsh, row.ysh, row.rot, row.scale))


def _visit(image: str) -> str:
    """HST visit of an exposure: the first six characters of its rootname (ipppss)."""
    return file_name(image).split("_")[0][:6].lower()


@check("solution_plausible", needs=("shiftfiles",),
       optional=("tweakreg_log", "inputs", "context"), unit="",
       summary=(Column("solution (of limit)", "max"),),
       description="A TweakReg solution outside what its search and HST visits allow (a "
                   "shift beyond 2 x (searchrad + tolerance), an implausible rotation or "
                   "scale, shifts inconsistent within one visit), even with a small RMS.")
def solution_plausible(shiftfiles: tuple[ShiftFile, ...], tweakreg_log: TweakRegLog | None = None,
                       inputs: tuple[InputExposure, ...] = (), context: Context | None = None,
                       shift_factor: float = 2.0, max_rotation_deg: float = 0.1,
                       max_scale_deviation: float = 1e-3, consistency_mas: float = 20.0,
                       ) -> Iterator[Measurement]:
    """One measurement per fitted image (the largest of its shift, rotation and scale as a
    fraction of their limits) and one per visit with two or more fitted exposures (the
    spread of their shifts as a fraction of the allowed one)."""
    scales = pixel_scales(inputs)
    default_scale = context.pixel_scale if context is not None else None
    for sf in shiftfiles:
        params, which = _search(tweakreg_log, sf)
        by_visit: dict[str, list[ShiftRow]] = defaultdict(list)
        for row in sf.rows:
            if row.is_reference:
                by_visit[_visit(row.image)].append(row)  # shift 0 by definition
                continue
            if not _row_ok(row):
                continue  # NaN rows: shiftfile_nans judges those
            scale = scales.get(row.image) or scales.get(row.image.split("_")[0].lower()) \
                or default_scale
            by_visit[_visit(row.image)].append(row)
            shift = math.hypot(row.xsh, row.ysh)
            rot, dscale = _rotation(row), abs(row.scale - 1.0)
            parts = {"rotation": rot / max_rotation_deg, "scale": dscale / max_scale_deviation}
            texts = [f"rotation {rot:.4f} deg (limit {max_rotation_deg:g})",
                     f"scale {row.scale:.6f} (limit 1 +/- {max_scale_deviation:g})"]
            details = {"shift_px": shift, "rotation_deg": rot, "scale": row.scale,
                       "line": row.line}
            limit = _shift_limit(params, scale, shift_factor) if params else None
            if limit is not None:
                parts["shift"] = shift / limit[0]
                texts.insert(0, f"shift {shift:.2f} px (limit {limit[1]}, {which} of "
                                f"{file_name(tweakreg_log.path)})")  # type: ignore[union-attr]
                details["shift_limit_px"] = limit[0]
            else:
                texts.insert(0, f"shift {shift:.2f} px (not judged: "
                                + ("no TweakReg log with the run's searchrad"
                                   if not params else "search radius in arcsec and the "
                                   "pixel scale unknown") + ")")
            worst = max(parts, key=parts.get)  # type: ignore[arg-type]
            details.update({f"{k}_fraction": v for k, v in parts.items()}, worst=worst)
            yield Measurement(f"{sf.name}:{row.image}", parts[worst],
                              f"{row.image} ({sf.name} line {row.line}): " + "; ".join(texts)
                              + f"; worst: {worst} at {parts[worst]:.2f} of its limit.",
                              details)
        for visit, rows in sorted(by_visit.items()):
            if len(rows) < 2 or all(r.is_reference for r in rows):
                continue
            spread = float(math.hypot(np.std([r.xsh for r in rows]),
                                      np.std([r.ysh for r in rows])))
            rms = max(max(r.xrms, r.yrms) for r in rows)
            scale = scales.get(rows[0].image) or default_scale
            subject = f"{sf.name}:visit {visit}"
            if not scale:
                yield Measurement(subject, math.nan, f"visit {visit}: {len(rows)} exposures' "
                                  f"shifts spread {spread:.3f} px; not judged: the pixel "
                                  f"scale is unknown (no input exposures), so "
                                  f"{consistency_mas:g} mas cannot be put in pixels.",
                                  {"spread_px": spread}, status=Status.SKIP)
                continue
            allowed = max(rms, consistency_mas / 1e3 / scale)
            how = (f"max(largest rms {rms:.3f} px, {consistency_mas:g} mas = "
                   f"{consistency_mas / 1e3 / scale:.3f} px)")
            yield Measurement(subject, spread / allowed,
                              f"visit {visit}: {len(rows)} exposures' shifts spread "
                              f"{spread:.3f} px, allowed {how} (drizzlepac's fit "
                              f"consistency); {spread / allowed:.2f} of the limit.",
                              {"spread_px": spread, "allowed_px": allowed,
                               "images": [r.image for r in rows]})
