"""Every registered check's verdicts on a folder of real recorded products, judged as
products mode (``pytest qa/ --products-dir DIR``) judges them. Shared by the tests of the
real recorded runs (``tests/data/real``)."""
from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

from hst_align_qa.checks.readers import find_products, load_products
from hst_align_qa.checks.registry import discover, run_check
from hst_align_qa.checks.result import CheckResult
from hst_align_qa.fixtures.verdicts.judge import threshold_table


def verdicts(folder: Path) -> dict[str, list[CheckResult]]:
    """Results of every registered check on the products found in ``folder``, by check."""
    products = load_products(find_products(folder))
    ctx, table = products.context, threshold_table()
    out = {}
    for spec in discover():
        out[spec.name] = run_check(
            spec, products, table.lookup(spec.name, instrument=ctx.instrument,
                                         detector=ctx.detector, fitgeometry=ctx.fitgeometry),
            folder.name, table.levels_for(spec.name, ctx.fitgeometry))
    return out


def counts(results: list[CheckResult]) -> dict[str, int]:
    """How many results of each status (``{"pass": 3, "warn": 1}``)."""
    return dict(Counter(r.status.value for r in results))


@cache
def cached_verdicts(folder: Path) -> dict[str, list[CheckResult]]:
    """:func:`verdicts`, computed once per folder in a test process (the corpus tests of
    one folder share it; the results are frozen records)."""
    return verdicts(folder)
