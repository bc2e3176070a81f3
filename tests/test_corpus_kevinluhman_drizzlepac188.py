"""Verdict on a researcher's TweakReg crash pasted in spacetelescope/drizzlepac#188
(kevinluhman, 2018-10-30), copied in ``tests/data/real/corpus/kevinluhman-drizzlepac188``
(its README gives the thread, the comment, its author and date; an issue has no commit)."""
from __future__ import annotations

import pytest
from real_verdicts import counts, verdicts

from hst_align_qa.checks.result import Status

RUN = "corpus/kevinluhman-drizzlepac188/tweakreg_dash_crash"


@pytest.fixture(scope="module")
def judged(real_data):
    return verdicts(real_data / RUN)


def test_tweakreg_python2_crash_fails_naming_the_exception(judged):
    """What the user pasted: drizzlepac's "[ERROR   ] An unhandled exception ocurred:" and
    a Python 2.7 traceback through drizzlepac/tweakreg.py and imgclasses.py, ending
    "TypeError: unsupported operand type(s) for /: 'NoneType' and 'float'" (the WFC3/IR
    DASH images had no IDCTAB scale). TweakReg died building its reference frame: nothing
    was matched, fitted or written. Every frame of the traceback names drizzlepac's
    TweakReg, so there is no doubt what crashed. The run failed: the log check fails
    (not "cannot read": the crash is the reading) and names the exception."""
    (log,) = judged["pipeline_log"]
    assert log.status is Status.FAIL, (log.status.value, log.message)
    assert "TypeError" in log.message, log.message


def test_alignment_attempted_and_failed(judged):
    """An alignment was attempted and crashed: nothing is aligned (issue 23, item 6), and
    no fit exists to measure."""
    assert counts(judged["images_aligned"]) == {"fail": 1}
    assert "pass" not in counts(judged["fit_rms"])
