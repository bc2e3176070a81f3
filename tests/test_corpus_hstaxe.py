"""Verdicts on real AstroDrizzle runs recorded in STScI's slitless-spectroscopy cookbooks
(spacetelescope/hstaxe, executed 2021-2023), copied in ``tests/data/real/corpus/hstaxe``
(its README names each file's origin as repo@commit:path and cell). Three imagers:
ACS/SBC (a MAMA detector), ACS/WFC and WFC3 (IR and UVIS). Every run is drizzle-only
(no TweakReg ran) and every run finished. Each test states the verdict a careful
astronomer gives and why."""
from __future__ import annotations

import pytest
from real_verdicts import cached_verdicts, counts

from hst_align_qa.checks.result import Status

SOURCE = "corpus/hstaxe"
SBC_RUNS = ("sbc_pr130l_drizzle_6f11a26", "sbc_f165lp_drizzle_6f11a26")
CCD_RUNS = ("acs_wfc_g800l_drizzle_c6d8f03", "wfc3_ir_direct_drizzle_5d6da0e",
            "wfc3_uvis_grism_drizzle_a9fb292")


@pytest.fixture(scope="module")
def judged(real_data):
    return lambda run: cached_verdicts(real_data / SOURCE / run)


@pytest.mark.parametrize("run", SBC_RUNS)
def test_sbc_drizzle_with_cte_notice_passes(judged, run):
    """ACS/SBC (MAMA), AstroDrizzle 3.5.1, 17/07/2023: one PR130L prism exposure, then the
    F165LP direct exposure drizzled onto the prism's frame; no median, blot or driz_cr
    (MAMA data have no cosmic rays). The only warning is drizzlepac's "No cte correction
    will be made for this SBC data": a photon-counting detector has no charge transfer to
    correct, so this announces a skipped step that does not apply (issue 23, item 5).
    Both runs finished and wrote their drz file: the log passes."""
    (log,) = judged(run)["pipeline_log"]
    assert log.status is Status.PASS, log.message


def test_acs_wfc_single_grism_drizzle_passes(judged):
    """ACS/WFC, AstroDrizzle 3.1.8 (01/04/2021): one G800L exposure, skymatch and single
    drizzle, the CR steps off (one exposure gives no median to compare against), then
    G800L_drc.fits. Finished with no warning: the log passes."""
    (log,) = judged(CCD_RUNS[0])["pipeline_log"]
    assert log.status is Status.PASS, log.message


def test_wfc3_ir_two_filter_drizzles_pass(judged):
    """WFC3/IR, two AstroDrizzle 3.5.1 runs in one cell (F098M then F105W, three
    exposures each, the full CR-rejection chain with the MDRIZTAB parameters). Both
    finished: the log passes, and both runs are seen."""
    (log,) = judged(CCD_RUNS[1])["pipeline_log"]
    assert log.status is Status.PASS, log.message
    assert "2 run" in log.message, log.message


def test_wfc3_uvis_drizzle_with_astropy_header_warnings_passes(judged):
    """WFC3/UVIS, AstroDrizzle 3.5.1: three G280 exposures, skymethod 'match', full CR
    chain. Interleaved on stderr come astropy's "VerifyWarning: Card is too long, comment
    will be truncated" and "FITSFixedWarning: 'datfix' made the change 'Set MJD-OBS ...'":
    header housekeeping by astropy, which changes no pixel and no WCS solution. The run
    finished: the log passes."""
    (log,) = judged(CCD_RUNS[2])["pipeline_log"]
    assert log.status is Status.PASS, log.message


@pytest.mark.parametrize("run", SBC_RUNS + CCD_RUNS)
def test_drizzle_only_has_no_alignment_verdict(judged, run):
    """No TweakReg ran in any of these cells: the alignment checks do not apply (issue 23,
    item 6), never a failure of an alignment nobody attempted."""
    got = judged(run)
    for name in ("images_aligned", "fit_rms", "stale_products"):
        assert counts(got[name]) == {"skip": 1}, (name, [r.message for r in got[name]])
