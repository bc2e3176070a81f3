"""Products left by an earlier TweakReg attempt (see :mod:`hst_align_qa.checks.attempts`)."""
from __future__ import annotations

from typing import Iterator

from .products import FitMatches, ShiftFile, StaleProduct, TweakRegLog, file_name
from .registry import check
from .result import Measurement

__all__ = ["stale_products"]


@check("stale_products", needs=(), optional=("stale", "shiftfiles", "fit_matches", "tweakreg_log"),
       unit="", description="Shift and match files from an earlier TweakReg attempt than "
                            "the last one for their images: set aside, never measured, "
                            "and the dataset fails until they are removed.")
def stale_products(stale: tuple[StaleProduct, ...] = (),
                   shiftfiles: tuple[ShiftFile, ...] = (),
                   fit_matches: tuple[FitMatches, ...] = (),
                   tweakreg_log: TweakRegLog | None = None) -> Iterator[Measurement]:
    """One measurement (1) per stale file, naming it, its attempt and the last one; else
    one measurement (0) saying how many current files were compared."""
    for s in stale:
        yield Measurement(file_name(s.path), 1.0, f"Stale: {s.reason}.",
                          {"path": s.path, "kind": s.kind})
    if not stale and (shiftfiles or fit_matches):
        against = "its TweakReg log's last attempts" if tweakreg_log is not None else \
            "each other"
        yield Measurement("alignment products", 0.0,
                          f"{len(shiftfiles)} shift file(s) and {len(fit_matches)} "
                          f"*_catalog_fit.match file(s), all from the last attempt for "
                          f"their images (compared with {against}).", {})
