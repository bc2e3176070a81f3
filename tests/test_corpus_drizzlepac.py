"""Verdicts on real runs recorded in spacetelescope/drizzlepac, copied in
``tests/data/real/corpus/drizzlepac`` (its README names each file's origin as
repo@commit:path). Each test states the verdict a careful astronomer gives and why."""
from __future__ import annotations

import pytest
from real_verdicts import counts, verdicts

from hst_align_qa.checks.result import Status


@pytest.fixture(scope="module")
def wfpc2_tests(real_data):
    # drizzlepac@229b7f68662a81bd967ab3be8036108e41fa4284:drizzlepac/tests/wfpc2/wfpc2.log
    return verdicts(real_data / "corpus" / "drizzlepac" / "tests_wfpc2_229b7f6")


def test_pytest_capture_of_four_wfpc2_drizzles_is_read(wfpc2_tests):
    """A pytest session's console holding four AstroDrizzle 2.2.2 runs on WFPC2 data. Each
    runs to "is finished processing"; the test failures that follow are fitsdiff
    comparisons with DrizzlePac 2.1.6 truth files at a relative tolerance of 1e-7 (the
    last float32 digit, ORIENTAT rounding): not a failure of the drizzling. The log is read
    as four AstroDrizzle runs, none failed."""
    (log,) = wfpc2_tests["pipeline_log"]
    assert log.subject == "wfpc2.log"
    assert log.status is Status.PASS
    assert "4 run(s)" in log.message


def test_drizzle_only_folder_has_no_alignment_verdict(wfpc2_tests):
    """No TweakReg ran: no log, shift file or match file. Alignment checks do not apply
    (issue 23, item 6: "not applicable: no TweakReg products"); failing images_aligned
    would call a drizzle-only run an alignment that failed."""
    for name in ("images_aligned", "fit_rms", "stale_products", "match_counts"):
        assert counts(wfpc2_tests[name]) == {"skip": 1}, name
    assert "not applicable" in wfpc2_tests["images_aligned"][0].message


def test_nothing_fails(wfpc2_tests):
    """Four successful drizzles of WFPC2 data: nothing in this folder is a failure."""
    assert not [(n, r.subject) for n, rs in wfpc2_tests.items() for r in rs
                if r.status is Status.FAIL]
