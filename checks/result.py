"""The one result type: what a check concluded about one subject.

Everything downstream (the HTML report, the JSON file, the JUnit properties and the
CI exit code) reads :class:`CheckResult` and nothing else.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

__all__ = ["Status", "Measurement", "CheckResult", "worst"]


class Status(str, enum.Enum):
    """Verdict of one check on one subject, ordered from best to worst."""

    PASS = "pass"
    SKIP = "skip"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Status.PASS: 0, Status.SKIP: 1, Status.WARN: 2, Status.FAIL: 3, Status.ERROR: 4}


def worst(statuses) -> Status:
    """Return the worst of ``statuses`` (``PASS`` for an empty iterable)."""
    out = Status.PASS
    for s in statuses:
        s = Status(s)
        if s.rank > out.rank:
            out = s
    return out


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _json_number(value: Any) -> Any:
    """Floats that JSON cannot hold (NaN, inf) become strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


@dataclass(frozen=True)
class Measurement:
    """What a pure check measured on one subject, before any threshold is applied.

    Parameters
    ----------
    subject : str
        What was measured: an image name, a product name, ``shiftfile:image``...
    value : float
        The gating quantity, in the check's declared unit. NaN means "could not be
        measured" and is judged a failure.
    message : str
        One sentence of evidence (the framework appends the verdict).
    details : mapping
        Further numbers shown in the report and the JSON (JSON-serialisable).
    significant : bool or None
        For statistical checks: ``False`` means the value is consistent with noise
        and must not fail or warn, whatever its size. ``None`` means not applicable.
    status : Status or None
        A check may decide the verdict itself (e.g. ``ERROR`` on unusable input);
        ``None`` lets the thresholds decide.
    detector : str or None
        ``"INSTRUMENT/DETECTOR"`` of the subject when it is known per subject (a products
        directory may mix detectors): the subject is judged with that detector's levels
        instead of the dataset's.
    reference : str or None
        ``"catalog"`` when the subject was fitted to an external catalog (judged with the
        ``by_reference.catalog`` levels); None for image-to-image fits or unknown.
    """

    subject: str
    value: float
    message: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    significant: bool | None = None
    status: Status | None = None
    detector: str | None = None
    reference: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "details", _freeze(self.details))
        object.__setattr__(self, "value", float(self.value))


@dataclass(frozen=True)
class CheckResult:
    """Verdict of one check on one subject of one dataset; frozen and JSON-serialisable."""

    dataset: str
    check: str
    subject: str
    status: Status
    observed: float | None
    unit: str
    threshold: Mapping[str, Any]
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "threshold", _freeze(self.threshold))
        object.__setattr__(self, "details", _freeze(self.details))

    @property
    def nodeid_part(self) -> str:
        return f"{self.dataset}::{self.check}::{self.subject}"

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (NaN and inf become strings)."""
        return {
            "dataset": self.dataset,
            "check": self.check,
            "subject": self.subject,
            "status": self.status.value,
            "observed": _json_number(self.observed),
            "unit": self.unit,
            "threshold": {k: _json_number(v) for k, v in self.threshold.items()},
            "message": self.message,
            "details": {k: _json_number(v) for k, v in self.details.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CheckResult":
        """Inverse of :meth:`to_dict`."""
        observed = data.get("observed")
        if isinstance(observed, str):
            observed = float(observed)
        return cls(
            dataset=data["dataset"],
            check=data["check"],
            subject=data["subject"],
            status=Status(data["status"]),
            observed=observed,
            unit=data.get("unit", ""),
            threshold=data.get("threshold", {}),
            message=data.get("message", ""),
            details=data.get("details", {}),
        )
