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

A solution the log shows to be confirmed by its own fit is not held to the search
bound, and a visit of such solutions drifting smoothly is judged about its drift (guided
drift within a visit, WFC3/IR DASH: large, smooth shifts with a small rms and hundreds of
matches). Confirmed means: the log's fit of the image, in the run that wrote the shift
file, reports the same shift; it kept at least ``min_confirm_matches`` sources; its rms
is below half the matching tolerance (a false match pairs sources at random within the
tolerance circle, so its residuals spread over it: per-axis rms ~ tolerance / 2); and
drizzlepac's own radial-offset test accepts that offset with that many matches
(``align.determine_fit_quality``: ``(N + 2) x 0.36 > 0.8 + (offset / 10 arcsec)^8``).
A search that starts from ``xoffset``/``yoffset`` is bounded about that start.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Iterator

import numpy as np

from .detectors import from_name
from .display import Column
from .fit_rms import pixel_scales, reference_frame
from .frames import fit_frame_scale
from .products import (Context, FitMatches, ImageFit, InputExposure, ShiftFile, ShiftRow,
                       TweakRegLog, file_name)
from .registry import check
from .result import Measurement, Status

__all__ = ["solution_plausible"]


def _float(text: str | None) -> float:
    try:
        return float(str(text).strip().strip("'\""))
    except (TypeError, ValueError):
        return math.nan


def _search(log: TweakRegLog | None, sf: ShiftFile,
            ) -> tuple[dict[str, str], str, dict[str, ImageFit]]:
    """The parameters of the run that wrote ``sf`` (else the last run's), which run, and
    that run's fits by image name."""
    if log is None or not log.runs:
        return {}, "", {}
    runs = [r for r in log.runs if r.shiftfile and file_name(r.shiftfile) == sf.name]
    run = runs[-1] if runs else log.runs[-1]
    fits = {file_name(f.image).lower(): f for f in log.fits if f.run == run.index}
    return dict(run.params), f"run {run.index + 1} of {len(log.runs)}", fits


def _shift_limit(params: dict[str, str], scale: float | None,
                 shift_factor: float) -> tuple[float, str] | None:
    """``shift_factor x (searchrad + tolerance)`` in pixels, and how it was found (plus
    ``|(xoffset, yoffset)|`` when the search started from an offset)."""
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
    text = f"{shift_factor:g} x ({how} + tolerance {tolerance:g} px)"
    start = math.hypot(*(v if math.isfinite(v) else 0.0 for v in (
        _float(params.get("xoffset")), _float(params.get("yoffset")))))
    if start > 0:  # TweakReg searches about the initial offset it was given
        limit += start
        text = f"{start:.1f} px (xoffset, yoffset) + {text}"
    return limit, f"{text} = {limit:.1f} px"


def _confirmed(row: ShiftRow, fit: ImageFit | None, params: dict[str, str],
               scale: float | None, min_matches: int) -> str:
    """Why the log's own fit confirms ``row``'s solution ("" when it does not)."""
    if fit is None or fit.n_matches is None or not all(
            math.isfinite(v) for v in (fit.xsh, fit.ysh, fit.xrms, fit.yrms)):
        return ""
    if abs(fit.xsh - row.xsh) > 0.01 or abs(fit.ysh - row.ysh) > 0.01:
        return ""  # the row is not the solution the log's matches gave
    tolerance = _float(params.get("tolerance"))
    tolerance = tolerance if math.isfinite(tolerance) else 1.0
    rms = max(fit.xrms, fit.yrms)
    if fit.n_matches < min_matches or rms >= tolerance / 2:
        return ""
    if scale:  # drizzlepac align.determine_fit_quality's radial offset check
        offset = math.hypot(row.xsh, row.ysh) * scale
        if not (fit.n_matches + 2) * 0.36 > 0.8 + (offset / 10.0) ** 8:
            return ""
    return (f"confirmed by its fit (log line {fit.line}: the same shift from "
            f"{fit.n_matches} matches at rms {rms:.3f} px, below half the "
            f"{tolerance:g} px tolerance)")


def _drift(rows: list[ShiftRow]) -> tuple[float, float]:
    """RMS about a straight line in exposure order (by name) of the shifts, per axis
    combined, and the drift's total length, in px."""
    ordered = sorted(rows, key=lambda r: file_name(r.image))
    t = np.arange(len(ordered), dtype=float)
    out = []
    for values in ([r.xsh for r in ordered], [r.ysh for r in ordered]):
        coef = np.polyfit(t, values, 1)
        out.append(np.asarray(values) - np.polyval(coef, t))
    resid = float(math.hypot(np.std(out[0], ddof=2), np.std(out[1], ddof=2)))
    length = math.hypot(ordered[-1].xsh - ordered[0].xsh, ordered[-1].ysh - ordered[0].ysh)
    return resid, length


def _row_scale(row: ShiftRow, fits: dict[str, ImageFit], scales: dict[str, float],
               default: float | None, frames: dict[str, float],
               frame_scale: float | None = None) -> float | None:
    """arcsec per shift-file pixel of ``row``: the fit frame's. Measured from the
    image's match file; else the shift file's own frame (``ShiftFile.frame_scale``: its
    other images' match files, or its reference exposure); else, when the log says the
    reference was one raw exposure, its
    undistorted frame (WFPC2: PC1's scale), or None when it was a drizzled image (its
    scale is its author's); else the image's own header scale, else its rootname's
    detector (one run may align several instruments), else the dataset's."""
    key = file_name(row.image).lower()
    if frames.get(key):
        return frames[key]
    if frame_scale:
        return frame_scale
    fit = fits.get(key)
    if fit is not None and fit.reference_kind == "image":
        return reference_frame(fit.reference)[0]
    own = scales.get(row.image) or scales.get(row.image.split("_")[0].lower())
    if own:
        return own
    told = from_name(row.image).detector
    return told.plate_scale if told is not None else default


def _rotation(row: ShiftRow) -> float:
    rot = row.rot % 360.0
    return min(rot, 360.0 - rot)


def _row_ok(row: ShiftRow) -> bool:
    return all(math.isfinite(v) for v in (row.xsh, row.ysh, row.rot, row.scale))


def _visit(image: str) -> str:
    """HST visit of an exposure: the first six characters of its rootname (ipppss)."""
    return file_name(image).split("_")[0][:6].lower()


@check("solution_plausible", needs=("shiftfiles",),
       optional=("tweakreg_log", "inputs", "context", "fit_matches"), unit="",
       summary=(Column("solution (of limit)", "max"),),
       description="A TweakReg solution outside what its search and HST visits allow (a "
                   "shift beyond 2 x (searchrad + tolerance), an implausible rotation or "
                   "scale, shifts inconsistent within one visit), even with a small RMS.")
def solution_plausible(shiftfiles: tuple[ShiftFile, ...], tweakreg_log: TweakRegLog | None = None,
                       inputs: tuple[InputExposure, ...] = (), context: Context | None = None,
                       fit_matches: tuple[FitMatches, ...] = (),
                       shift_factor: float = 2.0, max_rotation_deg: float = 0.1,
                       max_scale_deviation: float = 1e-3, consistency_mas: float = 20.0,
                       min_confirm_matches: int = 25, min_drift_exposures: int = 5,
                       ) -> Iterator[Measurement]:
    """One measurement per fitted image (the largest of its shift, rotation and scale as a
    fraction of their limits) and one per visit with two or more fitted exposures (the
    spread of their shifts as a fraction of the allowed one; about their drift where every
    exposure is confirmed by its fit and there are ``min_drift_exposures`` or more)."""
    scales = pixel_scales(inputs)
    default_scale = context.pixel_scale if context is not None else None
    frames = {file_name(fm.image).lower(): s for fm in fit_matches
              if (s := fit_frame_scale(fm)) is not None}
    for sf in shiftfiles:
        params, which, fits = _search(tweakreg_log, sf)
        by_visit: dict[str, list[ShiftRow]] = defaultdict(list)
        confirmed: dict[str, str] = {}
        row_scale: dict[str, float | None] = {}
        for row in sf.rows:
            if row.is_reference:
                by_visit[_visit(row.image)].append(row)  # shift 0 by definition
                continue
            if not _row_ok(row):
                continue  # NaN rows: shiftfile_nans judges those
            scale = _row_scale(row, fits, scales, default_scale, frames, sf.frame_scale)
            row_scale[row.image] = scale
            by_visit[_visit(row.image)].append(row)
            shift = math.hypot(row.xsh, row.ysh)
            rot, dscale = _rotation(row), abs(row.scale - 1.0)
            parts = {"rotation": rot / max_rotation_deg, "scale": dscale / max_scale_deviation}
            texts = [f"rotation {rot:.4f} deg (limit {max_rotation_deg:g})",
                     f"scale {row.scale:.6f} (limit 1 +/- {max_scale_deviation:g})"]
            details = {"shift_px": shift, "rotation_deg": rot, "scale": row.scale,
                       "line": row.line}
            limit = _shift_limit(params, scale, shift_factor) if params else None
            why = _confirmed(row, fits.get(file_name(row.image).lower()), params, scale,
                             min_confirm_matches)
            if why:
                confirmed[row.image] = why
                details["confirmed"] = why
            if limit is not None and why:  # the search bound does not apply
                where = "beyond" if shift > limit[0] else "within"
                texts.insert(0, f"shift {shift:.2f} px, {where} the search (limit "
                                f"{limit[1]}, {which} of "
                                f"{file_name(tweakreg_log.path)}), "  # type: ignore[union-attr]
                                f"{why}: not held to the search bound")
                details["shift_limit_px"] = limit[0]
            elif limit is not None:
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
            scale = next((row_scale[r.image] for r in rows if row_scale.get(r.image)),
                         None) or scales.get(rows[0].image) or default_scale
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
            fitted = [r for r in rows if not r.is_reference]
            if (len(rows) >= min_drift_exposures and fitted
                    and all(r.image in confirmed for r in fitted)):
                resid, length = _drift(rows)
                if resid <= allowed:  # guided drift (DASH): judged about the drift
                    yield Measurement(
                        subject, resid / allowed,
                        f"visit {visit}: {len(rows)} exposures' shifts spread "
                        f"{spread:.3f} px along a smooth drift of {length:.2f} px (in "
                        f"exposure order), every solution confirmed by its own fit: "
                        f"guided drift within the visit (e.g. WFC3/IR DASH), not a false "
                        f"match; about the drift they scatter {resid:.3f} px, allowed "
                        f"{how}; {resid / allowed:.2f} of the limit.",
                        {"spread_px": spread, "drift_px": length, "drift_rms_px": resid,
                         "allowed_px": allowed, "images": [r.image for r in rows]})
                    continue
            yield Measurement(subject, spread / allowed,
                              f"visit {visit}: {len(rows)} exposures' shifts spread "
                              f"{spread:.3f} px, allowed {how} (drizzlepac's fit "
                              f"consistency); {spread / allowed:.2f} of the limit.",
                              {"spread_px": spread, "allowed_px": allowed,
                               "images": [r.image for r in rows]})
