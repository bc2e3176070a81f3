"""The QA gate: one test per dataset and registered check.

Each test fails when its check fails (or errors) on any subject; ``warn`` fails only
with ``--qa-strict``. A check with nothing to judge (its products are absent) is
reported as skipped with the reason.
"""


def test_check(qa_results, qa_assert):
    qa_assert(qa_results)
