"""Stale products: a products directory holding several TweakReg attempts is judged on the
last one, decided from the files' content (never from modification times).

Every case is real TweakReg output (the 2019 STScI notebook runs in ``tests/data/real``):
either a folder as the notebook left it, or real runs of its log cut or concatenated the
way a user's session leaves them, with the real shift and match files those runs wrote.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from hst_align_qa.checks.attempts import agree, last_attempts, sort_attempts
from hst_align_qa.checks.readers import find_products, load_products, read_tweakreg_log
from hst_align_qa.checks.registry import discover, run_check
from hst_align_qa.checks.result import Status
from hst_align_qa.checks.thresholds import ThresholdTable

SPARSE = "tweakreg_runs/align_sparse_fields"

# the real-log cutting the detection benchmark uses (benchmarks/real_cases.py)
_spec = importlib.util.spec_from_file_location(
    "real_cases", Path(__file__).resolve().parents[1] / "benchmarks" / "real_cases.py")
real_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(real_cases)
copy_folder, runs_of = real_cases.copy_folder, real_cases.runs_of


def judge(products, name: str):
    spec = {s.name: s for s in discover()}[name]
    ctx = products.context
    threshold = ThresholdTable.default().lookup(name, instrument=ctx.instrument,
                                                detector=ctx.detector,
                                                fitgeometry=ctx.fitgeometry)
    return run_check(spec, products, threshold, "d")




def stale_names(products) -> dict[str, str]:
    return {Path(s.path).name: s.reason for s in products.stale}


def test_values_agree_to_the_logs_rounding():
    assert agree(0.38, 0.376353)  # log "FIT XRMS: 0.38" vs the shift file's 0.376353
    assert agree(0.14, 0.139559)
    assert agree(-0.3954, -0.395439)
    assert not agree(0.086, 0.3798)
    assert not agree(0.0241, 0.0169)  # two attempts' shifts of one image
    assert agree(float("nan"), float("nan")) and not agree(float("nan"), 0.1)


def test_notebook_folder_with_three_parameter_trials(real_data):
    """align_sparse_fields: the notebook ran TweakReg four times in one folder (three
    shift files test1-3, then a final run with updatehdr and no shift file; run 4 repeats
    run 3's fit). Verdict: the images' headers hold run 4's solution = run 3's, so
    shift814_flc_test3.txt and the three match files are current; test1 (xrms 0.38-0.45)
    and test2 are leftovers of earlier trials. They are named as stale and never measured:
    fit_rms judges test3 only and passes."""
    products = load_products(find_products(real_data / SPARSE))
    stale = stale_names(products)
    assert set(stale) == {"shift814_flc_test1.txt", "shift814_flc_test2.txt"}
    assert "written by run 1 of 4" in stale["shift814_flc_test1.txt"]
    assert "written by run 2 of 4" in stale["shift814_flc_test2.txt"]
    assert "run 4 of 4" in stale["shift814_flc_test1.txt"]  # the last attempt, named
    assert [sf.name for sf in products.shiftfiles] == ["shift814_flc_test3.txt"]
    assert len(products.fit_matches) == 3
    fit = judge(products, "fit_rms")  # 0.05-0.09 px: warn, as before; test1's 0.45 gone
    assert Status.FAIL not in {r.status for r in fit}, [r.message for r in fit]
    assert all(r.subject.startswith("shift814_flc_test3.txt") for r in fit)
    got = {r.subject: r for r in judge(products, "stale_products")}
    assert set(got) == {"shift814_flc_test1.txt", "shift814_flc_test2.txt"}
    assert {r.status for r in got.values()} == {Status.FAIL}
    assert "Stale: shift814_flc_test1.txt (written by run 1 of 4" in got["shift814_flc_test1.txt"].message


def test_two_reference_catalogs_judged_on_the_last(real_data):
    """align_to_catalogs: aligned to SDSS (run 1, xrms 0.36-0.44 px) and then to Gaia
    (0.023-0.032 px; the log's third run fitted nothing). The images carry the Gaia solution; SDSS_shifts.txt is an
    earlier attempt, reported stale, and its poor RMS is not charged to the dataset."""
    products = load_products(find_products(real_data / "tweakreg_runs/align_to_catalogs"))
    stale = stale_names(products)
    assert set(stale) == {"SDSS_shifts.txt"}, stale
    assert "written by run 1 of 3" in stale["SDSS_shifts.txt"]
    assert [sf.name for sf in products.shiftfiles] == ["Gaia_shifts.txt"]
    assert {r.status for r in judge(products, "fit_rms")} == {Status.PASS}


def test_a_crashed_run_leaves_the_older_products_stale(real_data):
    """align_mosaics (notebooks@72c8274): run 1 aligned the IR tiles; run 2 listed the
    UVIS tiles and crashed (KeyError, after its trailer line) before fitting any. The
    crash is the last attempt on every UVIS tile, and it fitted none: the UVIS shift and
    match files with fits in them come from an earlier run, one this log does not hold
    (notebooks@3400b17). They are stale; run 1's IR files are current."""
    products = load_products(find_products(real_data / "tweakreg_runs/align_mosaics"))
    stale = stale_names(products)
    assert "shift657_flc.txt" in stale and len(stale) == 13
    assert all(name == "shift657_flc.txt" or name.endswith("_flc_catalog_fit.match")
               for name in stale)
    assert [sf.name for sf in products.shiftfiles] == ["shift160_flt.txt"]
    assert {fm.image for fm in products.fit_matches} == {
        f.image for f in products.tweakreg_log.fits}
    attempts = last_attempts(products.tweakreg_log)
    crash = attempts["ick905k5q_flc.fits"]
    assert crash.outcome == "not reached" and crash.run.index == 1
    assert crash.run.completed and crash.run.stopped.startswith(
        "An unhandled exception ocurred: KeyError")
    assert {r.status for r in judge(products, "stale_products")} == {Status.FAIL}


def test_the_same_folder_with_the_log_that_wrote_it_is_current(real_data):
    """align_mosaics at notebooks@3400b17: its log's run 2 fitted the twelve UVIS tiles
    and wrote shift657_flc.txt (byte-identical to the 72c8274 folder's): all current."""
    products = load_products(find_products(real_data / "tweakreg_runs/align_mosaics_3400b17"))
    assert products.stale == ()
    assert len(products.shiftfiles) == 2 and len(products.fit_matches) == 19
    (verdict,) = judge(products, "stale_products")
    assert verdict.status is Status.PASS and "2 shift file(s)" in verdict.message


def test_a_good_attempt_then_a_poor_one_is_judged_on_the_poor_one(real_data, tmp_path):
    """Concatenated real runs: the good trial (run 3) and then the poor one (run 1) last,
    with every file both left. The match files on disk are the good run's; the last
    attempt wrote shift814_flc_test1.txt (xrms 0.38-0.45 px). Verdict: the dataset fails
    fit_rms on the last attempt, and the good run's match files and test3 are stale,
    each naming the run it matches."""
    src = real_data / SPARSE
    d = copy_folder(src, tmp_path / "two_attempts", skip=("tweakreg.log",
                                                         "shift814_flc_test2.txt"))
    runs = runs_of(src / "tweakreg.log")
    (d / "tweakreg.log").write_text("".join(runs[2] + runs[0]))
    products = load_products(find_products(d))
    stale = stale_names(products)
    assert set(stale) == {"shift814_flc_test3.txt", "j8xi0xs0q_flc_catalog_fit.match",
                          "j8xi0xs3q_flc_catalog_fit.match",
                          "j8xi0xs6q_flc_catalog_fit.match"}, stale
    assert "matches the fit of run 1" in stale["j8xi0xs0q_flc_catalog_fit.match"]
    assert "run 2 of 2" in stale["j8xi0xs0q_flc_catalog_fit.match"]
    assert products.fit_matches == ()
    fit = judge(products, "fit_rms")
    assert Status.FAIL in {r.status for r in fit}
    assert all(r.subject.startswith("shift814_flc_test1.txt") for r in fit)
    # match_counts and residual_correlation never measure the stale files
    for name in ("match_counts", "residual_correlation"):
        assert not any("catalog_fit.match" in r.subject for r in judge(products, name))


def test_a_run_cut_short_leaves_the_files_of_images_it_never_reached_stale(real_data,
                                                                          tmp_path):
    """A cut run: runs 1-3, then run 4 ends (killed) right after fitting j8xi0xs6q.
    Its last attempt for j8xi0xs3q and j8xi0xs0q never fitted them, so their match files
    (run 3's) and test3 (their rows) are from an earlier attempt; j8xi0xs6q's match file
    agrees with run 4's fit and is current. The run itself fails (no trailer line)."""
    src = real_data / SPARSE
    d = copy_folder(src, tmp_path / "cut", skip=("tweakreg.log", "shift814_flc_test1.txt",
                                                 "shift814_flc_test2.txt"))
    runs = runs_of(src / "tweakreg.log")
    last = runs[3]
    cut = next(i for i, line in enumerate(last) if "Performing fit for: j8xi0xs3q" in line)
    (d / "tweakreg.log").write_text("".join(runs[0] + runs[1] + runs[2] + last[:cut]))
    products = load_products(find_products(d))
    stale = stale_names(products)
    assert set(stale) == {"shift814_flc_test3.txt", "j8xi0xs0q_flc_catalog_fit.match",
                          "j8xi0xs3q_flc_catalog_fit.match"}, stale
    assert "ended before fitting it" in stale["j8xi0xs3q_flc_catalog_fit.match"]
    assert [fm.image for fm in products.fit_matches] == ["j8xi0xs6q_flc.fits"]
    attempts = last_attempts(products.tweakreg_log)
    assert attempts["j8xi0xs3q_flc.fits"].outcome == "not reached"
    assert attempts["j8xi0xsaq_flc.fits"].outcome == "reference"
    assert {r.status for r in judge(products, "stale_products")} == {Status.FAIL}


def test_a_stale_match_file_beside_a_newer_shift_file_without_log(real_data, tmp_path):
    """No log, one shift file (test1, the poor trial) and the good trial's match files:
    every match file's rms and shift disagree with test1's row for its image, so they
    are from another attempt."""
    src = real_data / SPARSE
    d = copy_folder(src, tmp_path / "nolog", skip=("tweakreg.log", "shift814_flc_test2.txt",
                                                   "shift814_flc_test3.txt"))
    products = load_products(find_products(d))
    stale = stale_names(products)
    assert len(stale) == 3 and all(k.endswith("_catalog_fit.match") for k in stale)
    assert "shift814_flc_test1.txt line" in stale["j8xi0xs0q_flc_catalog_fit.match"]


def test_modification_times_do_not_matter(real_data, tmp_path):
    """The same folder with every file's mtime reversed gets the same verdicts."""
    d = copy_folder(real_data / SPARSE, tmp_path / "touched")
    files = sorted(d.iterdir())
    for i, f in enumerate(files):
        os.utime(f, (1e9 + i * 1000, 1e9 + (len(files) - i) * 1000))
    before = stale_names(load_products(find_products(real_data / SPARSE)))
    assert stale_names(load_products(find_products(d))) == before


def test_sort_attempts_without_log_or_shift_file_keeps_everything(real_data):
    products = load_products(find_products(real_data / SPARSE))
    kept_sf, kept_fm, stale = sort_attempts((), products.fit_matches, None)
    assert stale == () and kept_fm == products.fit_matches


@pytest.mark.parametrize("folder", ["align_mosaics_3400b17", "align_to_catalogs",
                                    "align_sparse_fields", "align_mosaics"])
def test_every_real_log_names_one_last_attempt_per_fitted_image(real_data, folder):
    """Every image a real log fitted has one last attempt; all of them fitted (or were the
    reference), except align_mosaics@72c8274's UVIS tiles, whose last run crashed."""
    log = read_tweakreg_log(real_data / "tweakreg_runs" / folder / "tweakreg.log")
    attempts = last_attempts(log)
    fitted = {fit.image.lower() for fit in log.fits}
    assert fitted <= set(attempts)
    crashed = {a.image for a in attempts.values() if a.outcome == "not reached"}
    assert all(a.outcome in ("fitted", "reference") for a in attempts.values()
               if a.image not in crashed)
    assert len(crashed) == (12 if folder == "align_mosaics" else 0)
