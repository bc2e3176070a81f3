"""Explicit check registration: a decorator plus an entry-point group.

A check is a plain function decorated with :func:`check`. The decorator only attaches
a :class:`CheckSpec` to the function; nothing is registered as a side effect of
importing a module. Checks are found through the ``hst_align_qa.checks`` entry-point
group: this project lists its own checks there in ``pyproject.toml``, and another
installed package adds a check by listing its function in the same group::

    [project.entry-points."hst_align_qa.checks"]
    my_check = "my_package.my_module:my_check"
"""
from __future__ import annotations

import math
import traceback
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable, Iterable

from .display import Column, FigureFunction
from .products import TWEAKREG_PRODUCTS
from .result import CheckResult, Measurement, Status
from .thresholds import Threshold

__all__ = ["CheckSpec", "check", "discover", "run_check", "ENTRY_POINT_GROUP", "RegistryError"]

ENTRY_POINT_GROUP = "hst_align_qa.checks"


class RegistryError(RuntimeError):
    """An entry point does not name a decorated check, or two checks share a name."""


@dataclass(frozen=True)
class CheckSpec:
    """What the framework knows about a check without calling it.

    ``needs`` names attributes of :class:`checks.products.Products`; each is passed to
    the function as a keyword argument of the same name. When one of them is absent
    (``None`` or empty) the check is reported as skipped with the reason.

    ``optional`` names further attributes passed only when present (the function gives
    them a default). A check with no ``needs`` is skipped when none of its ``optional``
    products is present.

    ``figures`` and ``summary`` say what the check shows in the HTML report (see
    :mod:`hst_align_qa.checks.display`): its figures, drawn from its results and the
    products only when a report is written, and its columns in the summary table.
    """

    name: str
    func: Callable[..., Iterable[Measurement]]
    needs: tuple[str, ...]
    description: str
    unit: str
    optional: tuple[str, ...] = ()
    figures: FigureFunction | None = None
    summary: tuple[Column, ...] = ()

    def __call__(self, **kwargs: Any) -> list[Measurement]:
        return list(self.func(**kwargs))


def check(name: str, *, needs: Iterable[str], description: str,
          unit: str = "", optional: Iterable[str] = (),
          figures: FigureFunction | None = None,
          summary: Iterable[Column] = ()) -> Callable[[Callable], Callable]:
    """Mark ``func`` as a QA check named ``name``.

    Parameters
    ----------
    name : str
        Unique check name; also the key of its thresholds in ``thresholds.toml``.
    needs : iterable of str
        Product attributes the check reads (e.g. ``("shiftfiles",)``).
    description : str
        One sentence saying what a failure means, shown in the report.
    unit : str
        Unit of :attr:`Measurement.value` (an astropy unit string).
    optional : iterable of str
        Product attributes passed only when present (e.g. ``("tweakreg_log",)``).
    figures : callable, optional
        ``figures(results, products)`` yielding :class:`~hst_align_qa.checks.display.Figure`
        records: what the HTML report shows under the check's verdicts.
    summary : iterable of Column
        Columns of the report's summary table (one reduced value per dataset).
    """
    needs = tuple(needs)
    optional = tuple(optional)
    summary = tuple(summary)

    def decorate(func: Callable) -> Callable:
        func.__qa_check__ = CheckSpec(name=name, func=func, needs=needs,
                                      description=description, unit=unit,
                                      optional=optional, figures=figures, summary=summary)
        return func

    return decorate


def spec_of(obj: Any, origin: str = "") -> CheckSpec:
    """The :class:`CheckSpec` attached by :func:`check`, or a clear error."""
    spec = getattr(obj, "__qa_check__", None)
    if not isinstance(spec, CheckSpec):
        raise RegistryError(f"{origin or obj!r} is not a function decorated with "
                            "@hst_align_qa.checks.registry.check")
    return spec


def discover(group: str = ENTRY_POINT_GROUP) -> tuple[CheckSpec, ...]:
    """Load every check listed in the entry-point ``group``, sorted by name."""
    specs: dict[str, CheckSpec] = {}
    for ep in entry_points(group=group):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must say which one it is
            raise RegistryError(f"entry point {ep.name} = {ep.value!r} in group {group!r} "
                                f"failed to load: {exc}") from exc
        spec = spec_of(obj, f"entry point {ep.name} = {ep.value!r}")
        other = specs.get(spec.name)
        if other is not None and other.func is not spec.func:
            raise RegistryError(f"two checks are named {spec.name!r}: "
                                f"{other.func.__module__} and {spec.func.__module__}")
        specs[spec.name] = spec
    return tuple(specs[name] for name in sorted(specs))


def _absent(value: Any) -> bool:
    if value is None:
        return True
    try:
        return len(value) == 0
    except TypeError:
        return False


def run_check(spec: CheckSpec, products: Any, threshold: Threshold, dataset: str,
              levels_for: Callable[[str], Threshold] | None = None) -> list[CheckResult]:
    """Call one check on ``products`` and judge its measurements against ``threshold``.

    A measurement that names its subject's detector (``Measurement.detector``) is judged
    with ``levels_for(detector)`` when given (``levels_for(detector, reference)`` when it
    also names its reference kind, e.g. ``"catalog"``). Never raises for a failing check: an
    exception becomes one ``error`` result whose message is the exception's, so the
    other checks' results are not lost.
    """
    def result(subject, status, observed, message, details=None, levels=threshold):
        return CheckResult(dataset=dataset, check=spec.name, subject=subject,
                           status=status, observed=observed,
                           unit=levels.unit or spec.unit,
                           threshold=levels.to_dict(), message=message,
                           details=details or {})

    unreadable = getattr(products, "unreadable", {})
    missing = [need for need in spec.needs if _absent(getattr(products, need, None))]
    if missing:
        bad = [unreadable[n] for n in missing if n in unreadable]
        if bad:  # the product is there but cannot be read: this check cannot judge
            return [result(dataset, Status.ERROR, None, f"cannot read {'; '.join(bad)}")]
        return [result(dataset, Status.SKIP, None,
                       _not_applicable(products, missing, f"no {', '.join(missing)}"))]
    present = [name for name in spec.optional
               if not _absent(getattr(products, name, None))]
    if not spec.needs and spec.optional and not present:
        bad = [unreadable[n] for n in spec.optional if n in unreadable]
        if bad:
            return [result(dataset, Status.ERROR, None, f"cannot read {'; '.join(bad)}")]
        return [result(dataset, Status.SKIP, None, _not_applicable(
            products, spec.optional, f"none of {', '.join(spec.optional)}"))]
    kwargs = {need: getattr(products, need) for need in (*spec.needs, *present)}
    try:
        measurements = spec(**kwargs, **dict(threshold.params))
    except Exception as exc:
        last = traceback.extract_tb(exc.__traceback__)[-1]
        return [result(dataset, Status.ERROR, None,
                       f"{type(exc).__name__}: {exc} "
                       f"(in {last.filename.rsplit('/', 1)[-1]}:{last.lineno})")]
    if not measurements:
        reads = set(spec.needs) | set(spec.optional)
        if reads & set(_TWEAKREG_PRODUCTS) and all(
                _absent(getattr(products, name, None)) for name in _TWEAKREG_PRODUCTS):
            return [result(dataset, Status.SKIP, None, "not applicable: no TweakReg "
                           "products (the check found nothing to measure)")]
        return [result(dataset, Status.SKIP, None, "the check found nothing to measure")]
    out = []
    for m in measurements:
        levels = threshold
        if m.detector is not None and levels_for is not None:
            levels = (levels_for(m.detector, m.reference) if m.reference is not None
                      else levels_for(m.detector))
        if m.status is not None:
            status = m.status
        elif m.significant is False:
            status = Status.PASS
        else:
            status = levels.classify(m.value)
        verdict = _explain(status, m, levels)
        message = f"{m.message} {verdict}".strip()
        observed = None if math.isnan(m.value) else m.value
        details = dict(m.details)
        if m.significant is not None:
            details["significant"] = m.significant
        out.append(result(m.subject, status, observed, message, details, levels))
    return out


# What TweakReg leaves in a products directory (Products attributes), in a fixed order
_TWEAKREG_PRODUCTS = tuple(sorted(TWEAKREG_PRODUCTS))


def _not_applicable(products: Any, wanted: Iterable[str], absent: str) -> str:
    """The reason a check is skipped. A folder with no TweakReg product at all (a
    drizzle-only run) is said to have none, so that an alignment check reads "not
    applicable: no TweakReg products", not a list of missing files."""
    wanted = set(wanted)
    if wanted and wanted <= set(_TWEAKREG_PRODUCTS) and all(
            _absent(getattr(products, name, None)) for name in _TWEAKREG_PRODUCTS):
        return f"not applicable: no TweakReg products ({absent} among the products)"
    return f"not applicable: {absent} among the products"


def _explain(status: Status, m: Measurement, threshold: Threshold) -> str:
    if m.status is not None:
        return ""
    if math.isnan(m.value):
        return "Not measurable: fails."
    levels = threshold.describe()
    if status is Status.PASS and m.significant is False:
        return f"Not statistically significant: passes ({levels})."
    return f"{status.value.upper()} ({levels})."
