"""Baselines: an unchanged rerun passes, an injected regression is flagged."""
import json
from pathlib import Path

import pytest

from hst_align_qa.checks.baseline import regressions
from hst_align_qa.checks.result import CheckResult, Status
from hst_align_qa.fixtures.verdicts.baseline import BaselineError, main, promote

REPO = Path(__file__).resolve().parents[1]


def result(observed, worse="higher", subject="img", **levels):
    threshold = {"warn": 0.05, "fail": 0.1, "worse": worse, "regression": 0.2,
                 "regression_abs": 0.005, **levels}
    return CheckResult(dataset="d", check="fit_rms", subject=subject, status=Status.PASS,
                       observed=observed, unit="pix", threshold=threshold, message="")


@pytest.mark.parametrize("before, after, flagged", [
    (0.030, 0.030, False),
    (0.030, 0.035, False),   # +17% < 20%
    (0.030, 0.040, True),    # +33%, +0.010 px
    (0.001, 0.003, False),   # +200% but only 0.002 px < 0.005 px floor
    (0.040, 0.020, False),   # better
])
def test_regression_rule_higher_is_worse(before, after, flagged):
    got = regressions([result(after)], [result(before)])
    assert bool(got) is flagged
    if flagged:
        assert got[0].status is Status.FAIL and "0.03 -> 0.04 pix (+33%)" in got[0].message


def test_lower_is_worse_and_vanished_subjects():
    got = regressions([result(80, worse="lower", regression_abs=0)],
                      [result(120, worse="lower", regression_abs=0),
                       result(1.0, subject="gone")])
    assert [(r.subject, r.status) for r in got] == [
        ("img [baseline]", Status.FAIL), ("gone [baseline]", Status.WARN)]


def test_promote_refuses_failing_runs_and_bad_files(tmp_path):
    run = tmp_path / "run.json"
    bad = result(0.5).to_dict() | {"status": "fail"}
    run.write_text(json.dumps({"schema_version": 1, "results": [bad]}))
    with pytest.raises(BaselineError, match="run.json: 1 result"):
        promote(run, tmp_path / "base.json")
    assert main(["promote", str(run), str(tmp_path / "base.json"), "--force"]) == 0
    (tmp_path / "junk.json").write_text("{")
    assert main(["promote", str(tmp_path / "junk.json"), str(tmp_path / "b2.json")]) == 2
    assert not (tmp_path / "b2.json").exists()


def test_baseline_gate_end_to_end(pytester, data311):
    """`pytest qa/ --baseline`: an unchanged rerun passes; a regression fails."""
    for name in ("test_checks.py", "test_pipeline.py"):
        pytester.path.joinpath(name).write_text((REPO / "qa" / name).read_text())
    products = data311 / "good"
    # Their stars were drawn without the header's SIP/NPOL distortion, so one image's
    # residuals carry a real 0.05 px linear term (the check rightly fails it); relax that
    # level here to have an otherwise passing run to baseline. They also shift the three
    # exposures of one visit (jtst01) by 0-3.5 px against each other, which no real visit
    # does (solution_plausible rightly fails the spread once the rootname tells the
    # detector's scale): relaxed too.
    pytester.path.joinpath("relaxed.toml").write_text(
        "[residual_correlation]\nfail = 0.1\n\n[solution_plausible]\nwarn = 10.0\nfail = 20.0\n")
    args = ["-p", "no:cacheprovider", f"--products-dir={products}", "--thresholds=relaxed.toml"]
    first = pytester.runpytest_subprocess(*args, "--qa-json=run1.json")
    assert first.ret == 0
    assert main(["promote", str(pytester.path / "run1.json"),
                 str(pytester.path / "baseline.json")]) == 0

    rerun = pytester.runpytest_subprocess(*args, "--baseline=baseline.json",
                                          "--qa-json=run2.json")
    assert rerun.ret == 0
    doc = json.loads((pytester.path / "run2.json").read_text())
    assert not [r for r in doc["results"] if r["subject"].endswith("[baseline]")]

    # Inject a regression: pretend the accepted run had half the fit RMS.
    base = json.loads((pytester.path / "baseline.json").read_text())
    victim = next(r for r in base["results"]
                  if r["check"] == "fit_rms" and r["observed"] not in (None, 0.0))
    victim["observed"] /= 2
    (pytester.path / "baseline.json").write_text(json.dumps(base))
    worse = pytester.runpytest_subprocess(*args, "--baseline=baseline.json",
                                          "--qa-json=run3.json")
    assert worse.ret == 1
    doc = json.loads((pytester.path / "run3.json").read_text())
    flagged = [r for r in doc["results"] if r["subject"].endswith("[baseline]")]
    assert [(r["check"], r["subject"], r["status"]) for r in flagged] == [
        ("fit_rms", victim["subject"] + " [baseline]", "fail")]
    worse.stdout.fnmatch_lines(["*Regression against the baseline*"])
