"""Verdicts on real ACS/SBC AstroDrizzle runs recorded in the ACS team's notebook repository
(spacetelescope/acs-notebook, 2018), copied in ``tests/data/real/corpus/acs-notebook`` (its
README names each file's origin as repo@commit:path and cell). Each test states the verdict
a careful astronomer gives and why.

SBC is a MAMA detector: a photon counter with no read noise, no charge transfer and no
cosmic rays. Drizzling SBC images with the cosmic-ray steps off (no median, blot or
driz_cr) is the normal way, and drizzlepac's "WARNING: No cte correction will be made for
this SBC data." only says that a CCD step is skipped (issue 23, item 5)."""
from __future__ import annotations

import pytest
from real_verdicts import cached_verdicts, counts

from hst_align_qa.checks.result import Status

SOURCE = "corpus/acs-notebook"
RUNS = ("sbc_dark_analysis_drizzle_92e2532", "sbc_dark_analysis_masterdark_92e2532")


@pytest.fixture(scope="module")
def judged(real_data):
    return lambda run: cached_verdicts(real_data / SOURCE / run)


def test_sbc_four_filter_drizzles_pass(judged):
    """Cell 7 of acs_sbc_dark_analysis.ipynb at 92e2532 (11/07/2018, AstroDrizzle 2.2.4):
    four runs, one per SBC association (F150LP, F140LP, F165LP, F125LP), each with
    median/blot/driz_cr off, each "finished processing" with its drz_sci written. The only
    warnings are "No cte correction will be made for this SBC data" (twice a run, once per
    exposure): correct behaviour for a MAMA detector, not a fault. The log passes: no
    warning and no failure."""
    (log,) = judged(RUNS[0])["pipeline_log"]
    assert log.status is Status.PASS, log.message


def test_sbc_masterdark_drizzle_passes(judged):
    """Cell 13 (the same commit): one AstroDrizzle run drizzling the two dark frames the
    notebook built onto the science frame ("masterdark"), finished, with the same benign
    SBC CTE warning twice. The log passes."""
    (log,) = judged(RUNS[1])["pipeline_log"]
    assert log.status is Status.PASS, log.message


@pytest.mark.parametrize("run", RUNS)
def test_sbc_drizzle_only_has_no_alignment_verdict(judged, run):
    """No TweakReg ran in these cells: the SBC images were drizzled on their pipeline
    WCS. The alignment checks do not apply (issue 23, item 6): "not applicable: no TweakReg
    products", never a failure of an alignment nobody attempted."""
    got = judged(run)
    for name in ("images_aligned", "fit_rms", "stale_products"):
        assert counts(got[name]) == {"skip": 1}, (name, [r.message for r in got[name]])
