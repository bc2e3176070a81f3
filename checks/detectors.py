"""What the checks know about each HST imager (``checks/detectors.toml``)."""
from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Mapping

__all__ = ["Detector", "detectors", "detector", "nearest_detector"]


@dataclass(frozen=True)
class Detector:
    """One instrument/detector: ``name`` is ``"INSTRUMENT/DETECTOR"``."""

    name: str
    plate_scale: float  # arcsec per pixel
    chips: int
    lookup_tables: bool
    note: str


@functools.cache
def detectors() -> Mapping[str, Detector]:
    """Every detector of ``detectors.toml``, by name."""
    text = resources.files(__package__).joinpath("detectors.toml").read_text(encoding="utf-8")
    return MappingProxyType({
        name: Detector(name=name, plate_scale=float(e["plate_scale"]), chips=int(e["chips"]),
                       lookup_tables=bool(e["lookup_tables"]), note=str(e["note"]))
        for name, e in tomllib.loads(text)["detectors"].items()})


def detector(instrument: str | None, name: str | None) -> Detector | None:
    """The detector of an INSTRUME/DETECTOR pair (None when unknown)."""
    if not instrument or not name:
        return None
    return detectors().get(f"{instrument.strip()}/{name.strip()}".upper())


def nearest_detector(scale: float, tolerance: float = 0.15) -> Detector | None:
    """The detector whose plate scale is closest to ``scale`` arcsec/px, if it is within
    ``tolerance`` (relative) and the next closest is at least twice as far; None
    otherwise (ACS/HRC and ACS/SBC share 0.025"/px: never told apart)."""
    if not (math.isfinite(scale) and scale > 0):
        return None
    ranked = sorted(detectors().values(),
                    key=lambda d: abs(scale - d.plate_scale) / d.plate_scale)
    best = abs(scale - ranked[0].plate_scale) / ranked[0].plate_scale
    if best > tolerance:
        return None
    if len(ranked) > 1:
        second = abs(scale - ranked[1].plate_scale) / ranked[1].plate_scale
        if second < 2.0 * best or ranked[1].plate_scale == ranked[0].plate_scale:
            return None
    return ranked[0]
