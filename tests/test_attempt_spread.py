"""Attempt history as evidence (``attempt_spread``): several TweakReg attempts on one
image that each fit well but disagree by many times their rms mean a false match; a poor
attempt followed by a good one is how one works.

Real logs: align_sparse_fields (four runs, three parameter trials) and align_to_catalogs
(SDSS, then Gaia twice). Constructed cases with known truth: a real run repeated with one
image's solution moved (a false match fitted as tightly), and ImageFit records built to
sit on either side of the level.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from hst_align_qa.checks.attempt_spread import attempt_spread
from hst_align_qa.checks.products import ImageFit, Products, TweakRegLog, TweakRegRun
from hst_align_qa.checks.readers import read_tweakreg_log
from hst_align_qa.checks.registry import discover, run_check, spec_of
from hst_align_qa.checks.result import Status
from hst_align_qa.checks.thresholds import ThresholdTable

_spec = importlib.util.spec_from_file_location(
    "real_cases", Path(__file__).resolve().parents[1] / "benchmarks" / "real_cases.py")
real_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(real_cases)

SPARSE = "tweakreg_runs/align_sparse_fields/tweakreg.log"


def judge(log: TweakRegLog):
    return {r.subject: r for r in run_check(
        spec_of(attempt_spread), Products(tweakreg_log=log),
        ThresholdTable.default().lookup("attempt_spread"), "d")}


def test_registered_with_its_levels():
    assert "attempt_spread" in {s.name for s in discover()}
    levels = ThresholdTable.default().lookup("attempt_spread")
    assert levels.warn == 5.0 and levels.fail is None
    assert dict(levels.params) == {"good_rms_px": 0.1}


def test_three_parameter_trials_then_the_final_run_agree(real_data):
    """align_sparse_fields: test1 (rms 0.31-0.45 px, poor), test2, test3 and the final run
    (= test3). The poor first trial is no warning; the good attempts agree to 0.02 px,
    0.2 times their rms (j8xi0xs6q: test2 and test3), 0 for the final run's repeat."""
    got = judge(read_tweakreg_log(real_data / SPARSE))
    assert set(got) == {"j8xi0xs6q_flc.fits", "j8xi0xs3q_flc.fits", "j8xi0xs0q_flc.fits"}
    assert {r.status for r in got.values()} == {Status.PASS}
    s6q = got["j8xi0xs6q_flc.fits"]
    assert s6q.observed == pytest.approx(0.212, abs=0.002)
    assert s6q.details["good_attempts"] == 3 and len(s6q.details["attempts"]) == 4
    assert "run 1 of 4 (line 142): shift (-0.1083, -0.3009) px, rms 0.39 px" in s6q.message
    assert got["j8xi0xs0q_flc.fits"].observed == 0.0


def test_sdss_then_gaia_is_judged_per_reference(real_data):
    """align_to_catalogs: the SDSS fit and the Gaia fits are against different catalogs
    (different frames: not compared); the two Gaia runs are the same fit."""
    got = judge(read_tweakreg_log(real_data / "tweakreg_runs/align_to_catalogs/tweakreg.log"))
    assert len(got) == 3 and {r.status for r in got.values()} == {Status.PASS}
    assert all(r.details["reference"] == "gaia.cat" and r.observed == 0.0
               for r in got.values())
    (sdss,) = got["ibwb01xrq_flc.fits"].details["other_references"]
    assert sdss.startswith("sdss.cat, run 1 of 3 (line 159): shift (5.7834, -6.3216) px")


def test_a_notebooks_parameter_search_is_the_normal_way_to_work():
    """Real: align_multiple_visits (notebooks@72c8274, the notebook's console output):
    the default run found a false solution 51 px off (rms 0.74 px, poor), the threshold
    run failed, then searchrad, general and the final run agree to 0.007-0.014 px, 0.19
    and 0.27 times their rms. A poor early attempt then good ones: no warning; the false
    first solution is listed."""
    log = read_tweakreg_log(Path(__file__).parent / "data" / "log_formats" /
                            "notebooks_72c8274_align_multiple_visits_tweakreg_console.log")
    got = judge(log)
    assert {s: r.status for s, r in got.items()} == {
        "j9irw4b1q_flc.fits": Status.PASS, "j9irw5kaq_flc.fits": Status.PASS}
    assert got["j9irw4b1q_flc.fits"].observed == pytest.approx(0.19, abs=0.01)
    assert got["j9irw5kaq_flc.fits"].observed == pytest.approx(0.27, abs=0.01)
    first = got["j9irw4b1q_flc.fits"]
    assert first.details["good_attempts"] == 3
    assert "run 1 of 5 (line 197): shift (10.9800, -10.0005) px, rms 0.74 px" in first.message
    assert first.details["spread_px"] == pytest.approx(50.9, abs=0.1)


def test_a_single_attempt_per_image_has_nothing_to_compare(real_data):
    (r,) = judge(read_tweakreg_log(
        real_data / "tweakreg_runs/align_mosaics_3400b17/tweakreg.log")).values()
    assert r.status is Status.SKIP and "no attempts to compare" in r.message


def test_a_false_match_fitted_as_tightly_warns_listing_the_attempts(real_data, tmp_path):
    """Known truth, built from real text: the notebook's test3 run repeated as a fifth run
    in which j8xi0xs0q's solution is 14 px away (12, 8 px) with the same rms (0.076,
    0.082) and 37 matches: a false match fitted tightly. Both fits are good, they
    disagree by 14.4 px / 0.082 px = 176 times their rms: warn, naming both runs; the
    other images' repeats agree and pass."""
    runs = real_cases.runs_of(real_data / SPARSE)
    moved = "".join(runs[2]).replace("XSH: 0.1048  YSH: -0.3954",
                                     "XSH: 12.1048  YSH: 7.6046")
    assert moved != "".join(runs[2])
    log = tmp_path / "tweakreg.log"
    log.write_text("".join(line for run in runs for line in run) + moved)
    got = judge(read_tweakreg_log(log))
    bad = got["j8xi0xs0q_flc.fits"]
    assert bad.status is Status.WARN
    assert bad.observed == pytest.approx(14.42 / 0.082, rel=0.01)
    assert "run 5 of 5" in bad.message and "run 3 of 5" in bad.message
    assert "shift (12.1048, 7.6046) px" in bad.message
    assert {s: r.status for s, r in got.items() if s != "j8xi0xs0q_flc.fits"} == {
        "j8xi0xs6q_flc.fits": Status.PASS, "j8xi0xs3q_flc.fits": Status.PASS}


def _fit(run: int, xsh: float, ysh: float, rms: float, image="a_flc.fits",
         reference="ref_flc.fits") -> ImageFit:
    return ImageFit(image=image, n_matches=40, xrms=rms, yrms=rms, fitgeometry="rscale",
                    xsh=xsh, ysh=ysh, run=run, line=10 * run + 1, reference=reference)


def _log(*fits: ImageFit) -> TweakRegLog:
    runs = tuple(TweakRegRun(index=i, line=10 * i + 1, version="3.11.0", params={},
                             images=()) for i in range(max(f.run for f in fits) + 1))
    return TweakRegLog(path="tweakreg.log", format="3.x", version="3.11.0", fits=fits,
                       notable=(), runs=runs)


@pytest.mark.parametrize("distance, status", [(0.2, Status.PASS), (0.45, Status.PASS),
                                               (0.55, Status.WARN), (3.0, Status.WARN)])
def test_the_level_is_five_times_the_rms(distance, status):
    """Two good attempts (rms 0.09 px): 0.45 px apart is 5.0 times their rms (pass),
    0.55 px is 6.1 times (warn)."""
    (r,) = judge(_log(_fit(0, 1.0, 2.0, 0.09), _fit(1, 1.0 + distance, 2.0, 0.09))).values()
    assert r.status is status and r.observed == pytest.approx(distance / 0.09)


def test_a_poor_attempt_far_away_then_a_good_one_is_no_warning():
    """The normal way to work: a first try 20 px off with rms 0.45 px, then the good fit.
    One good attempt only: value 0, the spread still reported."""
    (r,) = judge(_log(_fit(0, 21.0, 2.0, 0.45), _fit(1, 1.0, 2.0, 0.05))).values()
    assert r.status is Status.PASS and r.observed == 0.0
    assert r.details["spread_px"] == pytest.approx(20.0)
    assert "1 of them fitted within 0.1 px" in r.message


def test_failed_attempts_and_other_references_are_not_compared():
    fits = (_fit(0, 1.0, 2.0, 0.05),
            ImageFit(image="a_flc.fits", n_matches=None, xrms=float("nan"),
                     yrms=float("nan"), fitgeometry="rscale", failed=True, run=1,
                     reason="Not enough matches (< 15)", reference="ref_flc.fits"),
            _fit(2, 30.0, 2.0, 0.05, reference="gaia.cat"))
    (r,) = judge(_log(*fits)).values()
    assert r.status is Status.SKIP
