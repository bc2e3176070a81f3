"""Fit RMS from every place TweakReg writes it: the shift file, else the log's per-image
XRMS/YRMS, else each ``*_catalog_fit.match`` header. Real products with files removed,
as a products directory is often found (the shift file not kept, only the log)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hst_align_qa.checks import readers
from hst_align_qa.checks.fit_rms import fit_rms
from hst_align_qa.checks.registry import run_check, spec_of
from hst_align_qa.checks.result import Status
from hst_align_qa.checks.thresholds import ThresholdTable


def judged(folder: Path, tmp_path: Path, drop) -> dict:
    """fit_rms on a copy of ``folder`` without the files ``drop(name)`` selects."""
    copy = tmp_path / folder.name
    copy.mkdir()
    for p in folder.iterdir():
        if not drop(p.name):
            shutil.copy(p, copy / p.name)
    products = readers.load_products(readers.find_products(copy))
    return {r.subject: r for r in run_check(spec_of(fit_rms), products,
                                            ThresholdTable.default().lookup("fit_rms"), "d")}


@pytest.fixture
def sparse(real_data):
    return real_data / "tweakreg_runs" / "align_sparse_fields"


def test_without_shift_files_the_log_gives_the_last_runs_rms(sparse, tmp_path):
    """The notebook's sparse field: its last TweakReg run (run 4) logged the RMS its
    kept shift file shift814_flc_test3.txt holds; without the shift files the verdicts
    come from the log, the same values, and the message says so."""
    got = judged(sparse, tmp_path, lambda n: n.startswith("shift"))
    rows = {r.image: r for r in readers.read_shiftfile(
        sparse / "shift814_flc_test3.txt").rows}
    assert sorted(got) == sorted(f"tweakreg.log:{i}" for i in rows
                                 if rows[i].xrms > 0)  # the reference has no fit
    for subject, r in got.items():
        row = rows[subject.split(":")[1]]
        assert r.observed == pytest.approx(max(row.xrms, row.yrms), abs=5e-4)
        assert r.status is Status.WARN  # 0.074-0.086 px: warn > 0.05, fail > 0.1
        assert "from the TweakReg log (tweakreg.log line" in r.message
        assert "run 4; no readable shift file" in r.message


def test_without_shift_file_and_log_the_match_headers_give_it(sparse, tmp_path):
    got = judged(sparse, tmp_path,
                 lambda n: n.startswith("shift") or n == "tweakreg.log")
    assert len(got) == 3
    r = got["j8xi0xs0q_flc_catalog_fit.match"]
    assert r.observed == pytest.approx(0.0815, abs=1e-3)  # the header rounds to 3 digits
    assert "from the header of j8xi0xs0q_flc_catalog_fit.match (no readable shift " \
           "file or TweakReg log)" in r.message


def test_an_image_the_log_could_not_fit_fails(data311, tmp_path):
    got = judged(data311 / "fail", tmp_path, lambda n: n.startswith("shift"))
    bad = got["tweakreg.log:jtst02b3q_flc.fits"]
    assert bad.status is Status.FAIL and bad.observed is None
    assert "TweakReg did not fit jtst02b3q_flc.fits: Not enough matches (< 15)" in bad.message
    assert got["tweakreg.log:jtst02b2q_flc.fits"].status is Status.PASS


def test_the_shift_file_wins_when_present(sparse, tmp_path):
    got = judged(sparse, tmp_path, lambda n: False)
    assert all(s.startswith("shift814_flc_test") for s in got)


def test_a_shift_file_row_without_match_file_is_in_the_shift_files_frame(real_data,
                                                                         tmp_path):
    """align_mosaics at notebooks@3400b17: the twelve UVIS tiles were fitted to the F160W
    mosaic, so shift657_flc.txt's shifts and rms are in its 0.08"/px frame. With only one
    UVIS match file left (ick905k5q's), the eleven rows without their own still get that
    frame (ShiftFile.frame_scale, from the match file left), never the UVIS 0.0396"/px
    pixel: fit_rms gives each the value its own match file gives, and solution_plausible
    the same shift limit."""
    from hst_align_qa.checks.solution_plausible import solution_plausible
    folder = real_data / "corpus" / "stsci-notebooks" / "align_mosaics_3400b17"
    full = readers.load_products(readers.find_products(folder))
    copy = tmp_path / folder.name
    copy.mkdir()
    for p in folder.iterdir():
        if not (p.name.endswith("_flc_catalog_fit.match") and "ick905k5q" not in p.name):
            shutil.copy(p, copy / p.name)
    cut = readers.load_products(readers.find_products(copy))
    assert len(cut.fit_matches) == len(full.fit_matches) - 11
    (sf,) = [s for s in cut.shiftfiles if s.name == "shift657_flc.txt"]
    assert sf.frame_scale == pytest.approx(0.0800, abs=2e-4)

    def run(spec, products):
        return {r.subject: r for r in run_check(spec_of(spec), products,
                                                ThresholdTable.default().lookup(
                                                    spec_of(spec).name), "d")}
    want, got = run(fit_rms, full), run(fit_rms, cut)
    uvis = [s for s in want if s.startswith("shift657_flc.txt:") and "ick905k5q" not in s
            and want[s].observed]
    assert len(uvis) == 11
    for s in uvis:
        assert got[s].details["frame_scale_arcsec"] == pytest.approx(0.0800, abs=2e-4)
        assert got[s].observed == pytest.approx(want[s].observed, rel=0.01), s
        assert "shift657_flc.txt's frame" in got[s].message
    want, got = run(solution_plausible, full), run(solution_plausible, cut)
    for s in uvis:
        assert got[s].details.get("shift_limit_px") == pytest.approx(
            want[s].details.get("shift_limit_px"), rel=0.01)
