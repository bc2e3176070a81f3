"""The two stages of a pipeline run, and which checks can judge after the first.

TweakReg (the alignment) writes a shift file, match files, source catalogues and its log,
and updates the inputs' headers; AstroDrizzle (the combination) then writes the drizzled
image, each visit's single-drizzled image and its log
(:data:`~hst_align_qa.checks.products.AFTER_ALIGNMENT` says which
:class:`~hst_align_qa.checks.products.Products` attributes exist after TweakReg). A check
whose declared products (:attr:`CheckSpec.needs`, :attr:`CheckSpec.optional`) TweakReg
meets is an *alignment check*: it can judge before AstroDrizzle runs. Every other check is
a *combination check*. A check's stage is read from its spec alone, so a third-party check
is staged by what it declares.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable

from .products import AFTER_ALIGNMENT, Products
from .registry import CheckSpec
from .result import CheckResult, Status

__all__ = ["ALIGNMENT", "COMBINATION", "stage_of",
           "alignment_checks", "alignment_failure", "alignment_only"]

ALIGNMENT = "alignment"
COMBINATION = "combination"

def stage_of(spec: CheckSpec) -> str:
    """:data:`ALIGNMENT` when TweakReg's products meet ``spec``: every product it needs
    exists after TweakReg, and it reads at least one of them (a need, or an optional
    product it would use); else :data:`COMBINATION`.

    A check that also reads AstroDrizzle's products optionally (``pipeline_log`` reads
    both logs) is an alignment check: after TweakReg it judges what TweakReg wrote.
    """
    needs, optional = set(spec.needs), set(spec.optional)
    uses = (needs | optional) & AFTER_ALIGNMENT
    return ALIGNMENT if needs <= AFTER_ALIGNMENT and uses else COMBINATION


def alignment_checks(specs: Iterable[CheckSpec]) -> tuple[CheckSpec, ...]:
    """The alignment checks among ``specs``, in their order."""
    return tuple(s for s in specs if stage_of(s) == ALIGNMENT)


def alignment_failure(results: Iterable[CheckResult], limit: int = 6) -> str | None:
    """Why the alignment failed, from alignment checks' ``results``: the failing checks
    and subjects (``"fit_rms on a_flc.fits, shiftfile_nans"``), or None when none of them
    is ``fail`` or ``error``. At most ``limit`` are named; the rest are counted."""
    bad: dict[str, list[str]] = {}
    for r in results:
        if r.status in (Status.FAIL, Status.ERROR):
            subjects = bad.setdefault(r.check, [])
            if r.subject != r.dataset and r.subject not in subjects:
                subjects.append(r.subject)
    if not bad:
        return None
    parts = []
    for check in sorted(bad):
        subjects = bad[check]
        parts.append(f"{check} on {', '.join(subjects[:2])}"
                     + (f" and {len(subjects) - 2} more" if len(subjects) > 2 else "")
                     if subjects else check)
    if len(parts) > limit:
        parts = parts[:limit] + [f"{len(parts) - limit} more"]
    return ", ".join(parts)


def alignment_only(products: Products) -> Products:
    """``products`` without what AstroDrizzle wrote (each attribute outside
    :data:`AFTER_ALIGNMENT` empty, its unreadable entry dropped): what a run stopped after
    TweakReg has, so that its alignment checks judge the same whether or not drizzled
    products from another run lie beside them."""
    empty = {f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING
                      else f.default)
             for f in dataclasses.fields(products)
             if f.name not in AFTER_ALIGNMENT and f.name != "unreadable"}
    unreadable = {k: v for k, v in products.unreadable.items() if k not in empty}
    return dataclasses.replace(products, **empty, unreadable=unreadable)
