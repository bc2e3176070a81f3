"""Fit RMS of every image in every TweakReg shift file."""
from __future__ import annotations

import math
from typing import Iterable, Iterator

from .display import Column
from .products import Context, InputExposure, ShiftFile, ShiftRow
from .registry import check
from .result import Measurement, Status

__all__ = ["fit_rms", "is_reference_row", "pixel_scales"]


def is_reference_row(row: ShiftRow) -> bool:
    """TweakReg's row for its reference image: zero shift, rotation and RMS, unit scale."""
    rot = row.rot % 360.0
    return (row.xsh == 0.0 and row.ysh == 0.0 and min(rot, 360.0 - rot) == 0.0
            and row.scale == 1.0 and row.xrms == 0.0 and row.yrms == 0.0)


def pixel_scales(inputs: Iterable[InputExposure] | None) -> dict[str, float]:
    """arcsec/pixel by exposure file name and by rootname."""
    out: dict[str, float] = {}
    for exp in inputs or ():
        if math.isfinite(exp.pixel_scale) and exp.pixel_scale > 0:
            out[exp.name] = out[exp.rootname] = exp.pixel_scale
    return out


def _scale_of(image: str, scales: dict[str, float], context: Context | None) -> float | None:
    scale = scales.get(image) or scales.get(image.split("_")[0].lower())
    if scale is None and context is not None:
        scale = context.pixel_scale
    return scale


@check("fit_rms", needs=("shiftfiles",), optional=("inputs", "context"), unit="pix",
       summary=(Column("fit RMS (max)", "max"),),
       description="TweakReg's fit residual RMS of an image is too large: its alignment "
                   "to the reference is poor and drizzling will blur or double sources.")
def fit_rms(shiftfiles: tuple[ShiftFile, ...], inputs: tuple[InputExposure, ...] = (),
            context: Context | None = None) -> Iterator[Measurement]:
    """Measure ``max(xrms, yrms)`` (pixels of the shift-file frame) per shift-file row.

    The reference image's row (zero shift and RMS) passes as "reference image". A row
    with NaN (TweakReg could not fit the image; drizzlepac 3.11 writes NaN shifts with
    *zero* RMS) is not measurable and fails. ``details`` give xrms/yrms and, when the
    detector pixel scale is known (input headers or dataset context), the RMS in mas.
    """
    scales = pixel_scales(inputs)
    for sf in shiftfiles:
        if sf.units and sf.units.strip().lower() not in ("pixels", "pixel", "pix"):
            yield Measurement(sf.name, math.nan, f"{sf.name} is in units {sf.units!r}, "
                              "not pixels: its RMS cannot be judged.", status=Status.ERROR)
            continue
        for row in sf.rows:
            subject = f"{sf.name}:{row.image}"
            details = {"xrms": row.xrms, "yrms": row.yrms, "line": row.line,
                       "units": sf.units or "pixels"}
            if is_reference_row(row):
                yield Measurement(subject, 0.0, f"{row.image} is the reference image "
                                  "(zero shift and RMS).", details, status=Status.PASS)
                continue
            values = (row.xsh, row.ysh, row.rot, row.scale, row.xrms, row.yrms)
            if any(math.isnan(v) for v in values):
                yield Measurement(subject, math.nan, f"TweakReg did not fit {row.image}: "
                                  f"NaN in {sf.name} line {row.line}.", details)
                continue
            value = max(row.xrms, row.yrms)
            scale = _scale_of(row.image, scales, context)
            text = f"xrms {row.xrms:.3f}, yrms {row.yrms:.3f} pix"
            if scale:
                details.update(pixel_scale_arcsec=scale, xrms_mas=row.xrms * scale * 1e3,
                               yrms_mas=row.yrms * scale * 1e3)
                text += f" ({row.xrms * scale * 1e3:.1f}, {row.yrms * scale * 1e3:.1f} mas)"
            yield Measurement(subject, value, f"{row.image}: {text}.", details)
