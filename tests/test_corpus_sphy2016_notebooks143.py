"""Verdict on a user's TweakReg crash pasted in spacetelescope/notebooks#143 (sphy2016,
2020-08-20), copied in ``tests/data/real/corpus/sphy2016-notebooks143`` (its README gives the
thread, the comment, its author and date; an issue has no commit)."""
from __future__ import annotations

import pytest
from real_verdicts import counts, verdicts

from hst_align_qa.checks.result import Status

RUN = "corpus/sphy2016-notebooks143/tweakreg_updatehdr_crash"


@pytest.fixture(scope="module")
def judged(real_data):
    return verdicts(real_data / RUN)


def test_tweakreg_header_update_crash_fails_naming_the_exception(judged):
    """A Python 3.6 traceback through drizzlepac/tweakreg.py (run, line 586) into
    imgclasses.updateHeader and stwcs' wcscorr, ending "KeyError: "Keyword 'CTYPE1O' not
    found."". TweakReg died while writing the new WCS into the headers: whatever it
    fitted, no image carries it, and the drizzle that follows would use the old WCS. The
    run failed: the log check fails (the traceback names TweakReg in every frame, so it is
    readable as a TweakReg crash) and names the exception."""
    (log,) = judged["pipeline_log"]
    assert log.status is Status.FAIL, (log.status.value, log.message)
    assert "KeyError" in log.message, log.message


def test_alignment_attempted_and_failed(judged):
    """The alignment was attempted and its result never reached the headers: nothing is
    aligned."""
    assert counts(judged["images_aligned"]) == {"fail": 1}
    assert "pass" not in counts(judged["fit_rms"])
