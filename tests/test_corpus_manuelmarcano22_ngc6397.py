"""Real WFPC2 TweakReg / AstroDrizzle runs of a researcher's NGC 6397 project
(manuelmarcano22/NGC6397F336W, 2019, drizzlepac 1.4.7 / AstroDrizzle 2.2.6, Python 2.7 and
3.7), judged as products mode judges them, with the verdict a careful astronomer would give.
Origins of every file: ``tests/data/real/corpus/manuelmarcano22-ngc6397/README.md``.

Every fit here is to another WFPC2 image (no external catalogue), ``fitgeometry='rscale'``,
and its rms is in pixels of TweakReg's fit frame, the reference image's undistorted frame
at the PC1 scale (0.0455"/px, as the match file of ``try_u97101_pair`` states in its
coordinates). WFPC2's WF chips sample at 0.0996"/px: 0.1 WF px is 10 mas. drizzlepac's own
HAP alignment parameters for WFPC2 call a fit good below 20 mas (MAX_FIT_RMS) and
drizzlepac#1686 calls WFPC2 fits misaligned above 100 mas. Every fit below is 5-12 mas: an
excellent WFPC2 alignment, which no level may warn or fail.
"""
from __future__ import annotations

import pytest
from real_verdicts import cached_verdicts, counts

from hst_align_qa.checks.result import Status

SOURCE = "corpus/manuelmarcano22-ngc6397"
PC_SCALE = 0.0455  # arcsec per fit-frame pixel (the PC1 frame TweakReg fits WFPC2 in)


@pytest.fixture(scope="module")
def judged(real_data):
    return lambda run: cached_verdicts(real_data / SOURCE / run)


def _fitted(results):
    """The fit_rms rows that measured something (not the reference image's row)."""
    return [r for r in results if r.observed]


def _assert_wfpc2_rows_pass(results, n, max_px):
    rows = _fitted(results)
    assert len(rows) == n
    assert {r.status for r in rows} == {Status.PASS}, \
        [(r.subject, r.status.value, r.message) for r in rows if r.status is not Status.PASS][:3]
    # judged as WFPC2, never with another imager's levels: the rootnames (u...) and the
    # *_c0m.fits names say WFPC2 even without exposures in the folder
    assert all(str(r.details.get("detector", "")).startswith("WFPC2") for r in rows)
    assert max_px * PC_SCALE * 1000 < 20  # the whole run is inside drizzlepac's "good"


def test_try_pair_five_mas_fit_passes(judged):
    """Try/ (2019-05-03, Python 2.7.15): u9710103m aligned to u9710203m (F336W), 976 of
    1040 matches kept, XRMS 0.11 YRMS 0.13 fit px = 5.0, 5.9 mas, i.e. 0.05-0.06 WF px.
    An excellent WFPC2 fit: fit_rms passes. The match file's header gives the rotation as
    359.9989949 deg (-0.001 deg once wrapped): no rotation to speak of."""
    got = judged("try_u97101_pair")
    (row,) = _fitted(got["fit_rms"])
    assert row.status is Status.PASS, row.message
    assert str(row.details["detector"]).startswith("WFPC2")
    assert row.details["xrms_mas"] == pytest.approx(5.0, abs=0.1)
    assert row.details["yrms_mas"] == pytest.approx(5.9, abs=0.1)
    assert counts(got["images_aligned"]) == {"pass": 1}
    assert counts(got["match_counts"]) == {"pass": 1}
    assert counts(got["stale_products"]) == {"pass": 1}


def test_try_pair_residual_structure_is_not_a_failure(judged):
    """The 964 residuals of the Try/ fit hold a real chip-to-chip pattern (rms 0.067 fit
    px, p ~ 1e-61 over 964 sources): WFPC2's four chips carry few-mas relative offsets that
    an rscale fit cannot absorb. But 0.067 px of 0.0455"/px is 3 mas, 0.03 WF px: far
    below anything that blurs or misregisters a drizzled WFPC2 image. A careful astronomer
    notes it and signs the fit: the check may warn, it must not fail."""
    got = judged("try_u97101_pair")
    (row,) = got["residual_correlation"]
    assert row.status in (Status.PASS, Status.WARN), row.message


def test_try_pair_drizzle_log_has_no_error(judged):
    """astrodrizzle.log holds two AstroDrizzle 2.2.6 runs (2019-05-02 with a stray
    ``u9710103m_c0m_d2im.fits`` among the inputs, and 2019-05-03 after the TweakReg run);
    both finish. "points were outside the output image" is blotting at the frame edge:
    nothing fails."""
    got = judged("try_u97101_pair")
    assert "fail" not in counts(got["pipeline_log"])
    assert "error" not in counts(got["pipeline_log"])


def test_example_six_c0m_ten_mas_fit_passes(judged):
    """ExampleData/ (the DrizzlePac WFPC2 example, six ua0605* c0m images, the
    first one the reference): five fits of 31-38 matches, XRMS up to 0.22 and YRMS up to
    0.18 fit px, i.e. 10 and 8 mas, 0.10 WF px. The issue's "good WFPC2 fit": it passes
    fit_rms, judged as WFPC2, with no shift or match file in the folder."""
    got = judged("example_ua0605")
    _assert_wfpc2_rows_pass(got["fit_rms"], 5, 0.22)
    assert counts(got["images_aligned"]) == {"pass": 1}
    assert counts(got["match_counts"]) == {"pass": 5}


def test_ngc6397_f336w_126_images_pass(judged):
    """NGC6397/ (2019-05-24): 126 F336W c0m images, 125 fitted to u9710103m with 806-1070
    matches each, XRMS/YRMS at most 0.15/0.14 fit px (7 mas). Every fit passes."""
    got = judged("ngc6397_f336w")
    _assert_wfpc2_rows_pass(got["fit_rms"], 125, 0.15)
    assert counts(got["images_aligned"]) == {"pass": 1}
    assert counts(got["match_counts"]) == {"pass": 125}


def test_ngc6397_f606w_126_images_pass(judged):
    """u9712005F606W/ (2019-08-21): 126 F606W c0m images fitted to u9710102m with 2526-3339
    matches, rms at most 0.27 fit px = 12 mas (0.12 WF px): crowded-field WFPC2 astrometry
    at its usual quality, inside drizzlepac's 20 mas. Every fit passes."""
    got = judged("ngc6397_f606w")
    _assert_wfpc2_rows_pass(got["fit_rms"], 125, 0.27)
    assert counts(got["images_aligned"]) == {"pass": 1}


def test_bychip_rerun_agrees_with_first_attempt(judged):
    """u9712005F336ByChip/Driz/tweakreg.log appends a second run (2019-10-28, Python 3.7)
    to the first (2019-05-24, the NGC6397/ log): the same 126 images, the same solutions
    (rotations agree to 1e-8 deg, rms identical). The last run is judged, every fit passes,
    and two agreeing attempts are no warning."""
    got = judged("f336w_bychip_rerun")
    _assert_wfpc2_rows_pass(got["fit_rms"], 125, 0.15)
    assert all("run 2" in r.message for r in _fitted(got["fit_rms"]))
    assert counts(got["images_aligned"]) == {"pass": 1}
    assert "warn" not in counts(got["stale_products"])
    assert "fail" not in counts(got["stale_products"])


def test_bychip_drizzle_crash_fails_naming_the_exception(judged):
    """The same folder's astrodrizzle.log: run 1 (2019-05-24) finished; run 2 (2019-10-28,
    the drizzle after the agreeing TweakReg re-run) died in Separate Drizzle when
    multiprocessing could not fork: the boxed "AstroDrizzle Version 2.2.6 encountered a
    problem! Processing terminated" banner (line 23830), then "Trailer file written to"
    (line 24236), and only after it "An unhandled exception ocurred" with the traceback
    ending "BlockingIOError: [Errno 11] Resource temporarily unavailable" (lines
    24242-24266). Last come IPython's own "Invalid alias" errors, not drizzlepac's.
    The last drizzle produced nothing: the folder fails, and the failure names its cause
    (BlockingIOError), which sits after the trailer line and still belongs to run 2."""
    got = judged("f336w_bychip_rerun")
    (row,) = [r for r in got["pipeline_log"] if r.subject == "astrodrizzle.log"]
    assert row.status is Status.FAIL
    assert "BlockingIOError" in row.message, row.message
    assert "run 2 of 2" in row.message


def test_try_pair_notebook_console_is_the_same_good_run(judged):
    """Try/wfpc2.ipynb, cell 8: the console text of the very run in try_u97101_pair's
    tweakreg.log (same start time 14:10:49.627, 03/05/2019), printed without the
    ``[INFO    ]`` prefix. Read from the console format alone, with no match file, it is
    still a WFPC2 fit of 0.11/0.13 fit px (5-6 mas): it passes."""
    got = judged("try_u97101_pair_notebook")
    _assert_wfpc2_rows_pass(got["fit_rms"], 1, 0.13)
    assert counts(got["images_aligned"]) == {"pass": 1}


def test_example_first_notebook_run_passes(judged):
    """ExampleData/drizzle_wfpc2Example.ipynb at d85ce9e, cell 14: an earlier run of the
    six-image example (14:06:59, 24/05/2019; the committed log holds the 16:21 re-run),
    the inputs in another order, the same five solutions (XRMS up to 0.22 fit px,
    10 mas). Good; it passes."""
    got = judged("example_ua0605_first_notebook_run")
    _assert_wfpc2_rows_pass(got["fit_rms"], 5, 0.22)
    assert counts(got["images_aligned"]) == {"pass": 1}


def test_ngc6397_f336w_first_notebook_run_passes(judged):
    """NGC6397/drizzle_wfpc2NGC6397.ipynb at d85ce9e, cell 14: the first alignment of the
    126 F336W images (14:28:11, 24/05/2019, Python 2.7.16), 80 minutes before the run the
    committed log holds, with another reference image (u971160fm; the 15:49 run used
    u9710103m). 125 fits of 803 or more kept matches, rms at most 0.15/0.14 fit px (7 mas).
    Good; it passes. (Its solutions differ from the 15:49 run's by the two references'
    relative offset, ~0.2-0.3 px in x, the same for every image: a change of reference
    frame, not a disagreement between attempts.)"""
    got = judged("ngc6397_f336w_first_notebook_run")
    _assert_wfpc2_rows_pass(got["fit_rms"], 125, 0.15)
    assert counts(got["images_aligned"]) == {"pass": 1}
    assert counts(got["match_counts"]) == {"pass": 125}
