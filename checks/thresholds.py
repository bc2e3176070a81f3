"""Thresholds are data: warn/fail levels with units, read from TOML.

Resolution order, each later layer overriding the earlier one key by key::

    checks/thresholds.toml (defaults)
      -> [check.by_detector."INSTRUMENT/DETECTOR"]
      -> [check.by_fitgeometry.GEOMETRY]
      -> [check.by_reference.KIND]           (``catalog``: a fit to an external catalog)

A ``by_detector`` or ``by_reference`` table may state its levels in an angle (``unit = "mas"``) for a check
measured in pixels: they are converted with that detector's plate scale
(``checks/detectors.toml``), and the :class:`Threshold` keeps both (``stated``).
    then the same three steps for each override layer, in order:
      the dataset's ``[thresholds]`` table in the manifest, then ``--thresholds PATH``.

Every resolved :class:`Threshold` records where each of its levels came from
(``source``), so the report can say which file and table set it.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

import astropy.units as u

from .detectors import detector as find_detector
from .result import Status

__all__ = ["Threshold", "ThresholdLayer", "ThresholdTable", "ThresholdError", "default_layer"]

_LEVEL_KEYS = {"warn", "fail", "unit", "worse", "note", "regression", "regression_abs"}
_CONTEXT_KEYS = ("by_detector", "by_fitgeometry", "by_reference")
_ALLOWED_KEYS = _LEVEL_KEYS | set(_CONTEXT_KEYS) | {"params"}


class ThresholdError(ValueError):
    """A threshold file or table is malformed (names the file and the key)."""


@dataclass(frozen=True)
class Threshold:
    """Warn and fail levels of one check for one context.

    ``worse="higher"``: fail when ``value > fail``, warn when ``value > warn``.
    ``worse="lower"``: fail when ``value < fail``, warn when ``value < warn``.
    """

    check: str
    unit: str
    worse: str
    warn: float | None
    fail: float | None
    source: str
    note: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    regression: float = 0.2  # relative worsening vs a baseline that counts as a regression
    regression_abs: float = 0.0  # ... and it must also exceed this, in the check's unit
    # levels as stated when converted (e.g. {"unit": "mas", "warn": 4.0, "fail": 20.0,
    # "plate_scale": 0.0396, "detector": "WFC3/UVIS"}); empty otherwise
    stated: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "stated", MappingProxyType(dict(self.stated)))

    def _beyond(self, value: float, level: float | None) -> bool:
        if level is None:
            return False
        return value > level if self.worse == "higher" else value < level

    def classify(self, value: float) -> Status:
        """Status of ``value`` against these levels (NaN fails)."""
        if value is None or math.isnan(value):
            return Status.FAIL
        if self._beyond(value, self.fail):
            return Status.FAIL
        if self._beyond(value, self.warn):
            return Status.WARN
        return Status.PASS

    def describe(self) -> str:
        """Human form, e.g. ``"warn > 0.05 pix, fail > 0.1 pix"``."""
        op = ">" if self.worse == "higher" else "<"
        parts = []
        for name, level in (("warn", self.warn), ("fail", self.fail)):
            if level is None:
                continue
            text = f"{name} {op} {level:.4g} {self.unit}".rstrip()
            if self.stated.get(name) is not None:
                text += f" ({self.stated[name]:g} {self.stated['unit']})"
            parts.append(text)
        text = ", ".join(parts) or "no levels"
        if self.stated:
            text += f" for {self.stated['detector']} at {self.stated['plate_scale']:g}\"/px"
            if self.stated.get("reference"):
                text += f", a fit to an external {self.stated['reference']}"
        return text

    def to_dict(self) -> dict[str, Any]:
        out = {"warn": self.warn, "fail": self.fail, "unit": self.unit,
               "worse": self.worse, "source": self.source,
               "regression": self.regression, "regression_abs": self.regression_abs}
        if self.stated:
            out["stated"] = dict(self.stated)
        return out


@dataclass(frozen=True)
class ThresholdLayer:
    """One parsed threshold table (a file, or a manifest's ``[thresholds]``)."""

    name: str
    table: Mapping[str, Any]

    @classmethod
    def from_mapping(cls, name: str, table: Mapping[str, Any]) -> "ThresholdLayer":
        """Validate ``table`` (check name -> levels) and wrap it; ``name`` goes in errors."""
        for check, entry in table.items():
            if not isinstance(entry, Mapping):
                raise ThresholdError(f"{name}: [{check}] must be a table, got {entry!r}")
            _validate_levels(name, check, entry, top=True)
            for key in _CONTEXT_KEYS:
                for ctx, sub in entry.get(key, {}).items():
                    if not isinstance(sub, Mapping):
                        raise ThresholdError(f"{name}: [{check}.{key}.{ctx}] must be a table")
                    _validate_levels(name, f"{check}.{key}.{ctx}", sub, top=False)
        return cls(name=name, table=MappingProxyType(dict(table)))

    @classmethod
    def from_file(cls, path: str | Path) -> "ThresholdLayer":
        """Read a TOML threshold file; errors name the file."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ThresholdError(f"{path}: threshold file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ThresholdError(f"{path}: not valid TOML ({exc})") from None
        return cls.from_mapping(str(path), data)


def _validate_levels(name: str, where: str, entry: Mapping[str, Any], *, top: bool) -> None:
    allowed = _ALLOWED_KEYS if top else _LEVEL_KEYS | {"params"}
    unknown = set(entry) - allowed
    if unknown:
        raise ThresholdError(f"{name}: [{where}] has unknown key(s) {sorted(unknown)}; "
                             f"allowed: {sorted(allowed)}")
    for key in ("warn", "fail", "regression", "regression_abs"):
        value = entry.get(key)
        if key in entry and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ThresholdError(f"{name}: [{where}] {key} must be a number, got {entry[key]!r}")
    if "worse" in entry and entry["worse"] not in ("higher", "lower"):
        raise ThresholdError(f"{name}: [{where}] worse must be 'higher' or 'lower', "
                             f"got {entry['worse']!r}")
    if "unit" in entry:
        try:
            u.Unit(entry["unit"])
        except (ValueError, TypeError):
            raise ThresholdError(f"{name}: [{where}] unit {entry['unit']!r} is not an "
                                 "astropy unit") from None
    if "params" in entry and not isinstance(entry["params"], Mapping):
        raise ThresholdError(f"{name}: [{where}.params] must be a table")


def default_layer() -> ThresholdLayer:
    """The defaults shipped with the package (``checks/thresholds.toml``)."""
    ref = resources.files("hst_align_qa.checks").joinpath("thresholds.toml")
    return ThresholdLayer.from_mapping(
        "checks/thresholds.toml", tomllib.loads(ref.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class ThresholdTable:
    """Ordered layers; :meth:`lookup` resolves one check in one context."""

    layers: tuple[ThresholdLayer, ...]

    @classmethod
    def default(cls, *extra: ThresholdLayer) -> "ThresholdTable":
        return cls((default_layer(), *extra))

    def with_layer(self, layer: ThresholdLayer | None) -> "ThresholdTable":
        return self if layer is None else ThresholdTable((*self.layers, layer))

    def levels_for(self, check: str, fitgeometry: str | None = None,
                   ) -> Callable[..., Threshold]:
        """``(name, reference=None) -> levels of check for detector name
        ("INSTRUMENT/DETECTOR")`` and reference kind (``"catalog"``): what
        :func:`hst_align_qa.checks.registry.run_check` uses for a measurement that names
        its detector."""
        def levels(name: str, reference: str | None = None) -> Threshold:
            instrument, _, detector = name.partition("/")
            return self.lookup(check, instrument=instrument, detector=detector,
                               fitgeometry=fitgeometry, reference=reference)
        return levels

    def lookup(self, check: str, *, instrument: str | None = None,
               detector: str | None = None, fitgeometry: str | None = None,
               reference: str | None = None) -> Threshold:
        """Resolve the levels of ``check`` for one instrument/detector, fit geometry and
        reference kind (``"catalog"`` for a fit to an external catalog, else None)."""
        merged: dict[str, Any] = {}
        sources: dict[str, str] = {}
        params: dict[str, Any] = {}
        stated: dict[str, Any] = {}
        for layer in self.layers:
            entry = layer.table.get(check)
            if entry is None:
                continue
            steps = [(f"[{check}]", entry)]
            if instrument is not None and detector is not None:
                key = f"{instrument}/{detector}".upper()
                sub = {k.upper(): v for k, v in entry.get("by_detector", {}).items()}
                if key in sub:
                    steps.append((f"[{check}.by_detector.\"{key}\"]", sub[key]))
            if fitgeometry is not None and fitgeometry in entry.get("by_fitgeometry", {}):
                steps.append((f"[{check}.by_fitgeometry.{fitgeometry}]",
                              entry["by_fitgeometry"][fitgeometry]))
            if reference is not None and reference in entry.get("by_reference", {}):
                steps.append((f"[{check}.by_reference.{reference}]",
                              entry["by_reference"][reference]))
            for where, sub in steps:
                converted: dict[str, float] = {}
                if (where.startswith((f"[{check}.by_detector", f"[{check}.by_reference"))
                        and _is_angle(sub.get("unit"))):
                    sub, converted, meta = _to_pixels(layer.name, where, sub,
                                                      merged.get("unit", ""),
                                                      f"{instrument}/{detector}".upper())
                    if where.startswith(f"[{check}.by_reference"):
                        meta = {**meta, "reference": reference}
                for key in _LEVEL_KEYS:
                    if key in sub:
                        merged[key] = sub[key]
                        sources[key] = f"{layer.name} {where}"
                        if key in ("warn", "fail"):
                            if key in converted:
                                stated[key] = converted[key]
                                stated.update(meta)
                            else:
                                stated.pop(key, None)
                params.update(sub.get("params", {}))
        if not merged:
            raise ThresholdError(f"no thresholds defined for check {check!r} "
                                 f"(looked in: {', '.join(l.name for l in self.layers)})")
        level_sources = sorted({sources[k] for k in ("warn", "fail") if k in sources})
        return Threshold(
            check=check,
            unit=merged.get("unit", ""),
            worse=merged.get("worse", "higher"),
            warn=None if merged.get("warn") is None else float(merged["warn"]),
            fail=None if merged.get("fail") is None else float(merged["fail"]),
            source="; ".join(level_sources),
            note=merged.get("note", ""),
            params=params,
            regression=float(merged.get("regression", 0.2)),
            regression_abs=float(merged.get("regression_abs", 0.0)),
            stated=stated if ("warn" in stated or "fail" in stated) else {},
        )


def _is_angle(unit: Any) -> bool:
    try:
        return isinstance(unit, str) and u.Unit(unit).physical_type == "angle"
    except (ValueError, TypeError):
        return False


def _to_pixels(layer: str, where: str, sub: Mapping[str, Any], base_unit: str,
               name: str) -> tuple[dict[str, Any], dict[str, float], dict[str, Any]]:
    """``sub`` with its angle levels in pixels of detector ``name``; the levels as stated;
    and what the conversion used."""
    if base_unit not in ("pix", "pixel"):
        raise ThresholdError(f"{layer}: {where} states levels in {sub['unit']!r} but the "
                             f"check is measured in {base_unit!r}: only pixel levels convert")
    found = find_detector(*name.split("/", 1))
    if found is None:
        raise ThresholdError(f"{layer}: {where}: no plate scale for {name} in "
                             "checks/detectors.toml")
    per_arcsec = u.Unit(sub["unit"]).to(u.arcsec)
    out = {k: v for k, v in sub.items() if k != "unit"}
    stated: dict[str, float] = {}
    for key in ("warn", "fail", "regression_abs"):
        if key in sub:
            out[key] = float(sub[key]) * per_arcsec / found.plate_scale
            if key != "regression_abs":
                stated[key] = float(sub[key])
    return out, stated, {"unit": sub["unit"], "plate_scale": found.plate_scale,
                         "detector": found.name}
