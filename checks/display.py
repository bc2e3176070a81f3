"""What a check shows in a report, declared on its spec (``@check(figures=, summary=)``).

The report never names a check: it asks each registered check's spec for its figures and
its summary columns, so a check from another package is shown exactly like ours.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

__all__ = ["Figure", "FigureFunction", "Column"]


@dataclass(frozen=True)
class Figure:
    """One figure of a report.

    Parameters
    ----------
    title : str
        Shown under the figure.
    key : tuple
        JSON-serialisable description of what is drawn (e.g. ``("residuals", path)``);
        with the products' fingerprint and the drawing code it keys the figure's reuse.
    draw : callable
        ``draw() -> bytes``: the PNG. Called only when a report will show it.
    """

    title: str
    key: tuple
    draw: Callable[[], bytes]


FigureFunction = Callable[[Sequence[Any], Any], Iterable[Figure]]
"""``figures(results, products)``: a check's figures, from its results (a sequence of
:class:`~hst_align_qa.checks.result.CheckResult`) and the parsed products."""


@dataclass(frozen=True)
class Column:
    """A column of the report's summary table: one value per dataset.

    Parameters
    ----------
    title : str
        Column heading, e.g. ``"fit RMS (max)"``.
    reduce : {"max", "min"}
        How the check's observed values over its subjects become one (the worse end).
    """

    title: str
    reduce: str = "max"

    def __post_init__(self):
        if self.reduce not in ("max", "min"):
            raise ValueError(f"Column {self.title!r}: reduce must be 'max' or 'min', "
                             f"got {self.reduce!r}")
