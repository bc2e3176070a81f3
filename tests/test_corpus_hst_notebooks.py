"""Verdicts on real runs recorded in spacetelescope/hst_notebooks, copied in
``tests/data/real/corpus/hst-notebooks`` (its README names each file's origin as
repo@commit:path). Each test states the verdict a careful astronomer gives and why."""
from __future__ import annotations

import pytest
from real_verdicts import counts, verdicts

from hst_align_qa.checks.result import Status


@pytest.fixture(scope="module")
def drizzle_crash(real_data):
    # hst_notebooks@30c5f6ff099661158665eb99ad8303f9378573b4:
    #   reports/notebooks/DrizzlePac/align_multiple_visits/align_multiple_visits.err.log
    return verdicts(real_data / "corpus" / "hst-notebooks" / "align_multiple_visits_err_30c5f6f")


def test_astrodrizzle_crash_in_a_ci_report_fails(drizzle_crash):
    """An nbclient error report holding an AstroDrizzle 3.6.0 run on ACS/WFC that died in
    Create Median: the boxed "ERROR: AstroDrizzle Version 3.6.0 encountered a problem!
    Processing terminated" (each banner line after a "----- stderr -----" line), then
    "ValueError: operands could not be broadcast together" in minmed. No drizzled product
    was made: the log fails, naming the banner or the exception."""
    (log,) = drizzle_crash["pipeline_log"]
    assert log.subject == "align_multiple_visits.err.log"
    assert log.status is Status.FAIL
    notable = " ".join(log.details.get("notable", ()))
    assert "encountered a problem" in notable or "ValueError" in notable


def test_drizzle_only_crash_has_no_alignment_verdict(drizzle_crash):
    """No TweakReg ran in this cell: the alignment checks do not apply (issue 23, item 6).
    The failure to report is AstroDrizzle's, not an alignment that aligned nothing."""
    for name in ("images_aligned", "fit_rms", "stale_products"):
        assert counts(drizzle_crash[name]) == {"skip": 1}, name
