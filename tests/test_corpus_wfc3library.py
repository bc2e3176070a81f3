"""Verdict on a real WFC3/IR AstroDrizzle run recorded in the WFC3 team's notebook
repository (spacetelescope/WFC3Library, 2023), copied in
``tests/data/real/corpus/wfc3library`` (its README names the file's origin as
repo@commit:path and cell). The test states the verdict a careful astronomer gives and why."""
from __future__ import annotations

import pytest
from real_verdicts import counts, verdicts

from hst_align_qa.checks.result import Status

RUN = "corpus/wfc3library/ir_scattered_light_drizzle_0c88aa1"


@pytest.fixture(scope="module")
def judged(real_data):
    return verdicts(real_data / RUN)


def test_ir_drizzle_without_cr_steps_passes(judged):
    """AstroDrizzle 3.5.1 (09/05/2023) on four WFC3/IR F140W exposures of visit icqtbb,
    re-calibrated with the scattered-light reads masked; skymethod='match', the cosmic-ray
    steps off (calwf3's up-the-ramp fit already rejected cosmic rays), final_bits='16'.
    The capture opens with teal's task list and skymatch's report, and ends "AstroDrizzle
    Version 3.5.1 is finished processing". Nothing failed: the log passes."""
    (log,) = judged["pipeline_log"]
    assert log.status is Status.PASS, log.message


def test_ir_drizzle_only_has_no_alignment_verdict(judged):
    """No TweakReg ran: the alignment checks do not apply (issue 23, item 6)."""
    for name in ("images_aligned", "fit_rms", "stale_products"):
        assert counts(judged[name]) == {"skip": 1}, (name, [r.message for r in judged[name]])
