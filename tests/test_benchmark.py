"""The benchmark command runs end to end (small dataset, two rounds) and writes the
ratios docs/performance.md quotes; its cold runs start from an empty cache every round."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from qa_process import REPO

from hst_align_qa.checks.result import Status
from hst_align_qa.fixtures.pipeline.runner import DatasetRun


def _run_script(tmp_path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    """``python benchmarks/<args>`` from the repository, its HOME and TMPDIR under
    ``tmp_path``; it must exit 0."""
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(tmp_path / "home"), "TMPDIR": str(scratch)}
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return proc


def test_small_benchmark_writes_every_ratio(tmp_path):
    """... and removes its scratch directory (~1.7 GB at full size) unless --keep."""
    out = tmp_path / "bench.json"
    scratch = tmp_path / "tmp"
    proc = _run_script(tmp_path, "benchmarks/run.py", "--size", "small", "--repeat", "2",
                       "--json", str(out), timeout=900)
    assert not list(scratch.glob("hst-align-qa-bench-*")), list(scratch.iterdir())
    doc = json.loads(out.read_text())
    assert doc["dataset"] == "synthetic-small" and doc["repeat"] == 2
    assert len(doc["rounds"]) == 2
    for key in ("overhead_ratio", "overhead_ratio_cpu", "checks_fraction", "warm_ratio",
                "qa_seconds", "peak_rss_gb"):
        assert doc[key] > 0, key
        assert key in proc.stdout
    for r in doc["rounds"]:
        assert r["exit_codes"] == {"cold": 0, "warm": 0}
        cold, warm = r["phases"]["cold"], r["phases"]["warm"]
        # every round's cold run built the products and drew the figures afresh ...
        assert {"tweakreg", "astrodrizzle", "startup"} <= set(cold["pipeline_steps"])
        assert cold["plots"] > 0 and cold["pipeline"] > 0
        # ... and the warm run reused them
        assert warm["wall"] < cold["wall"]
    assert doc["phases"]["bare"]["tweakreg"]["wall"] > 0
    assert doc["source_finding"]["threshold"] == 30.0
    # rounds alternate which run comes first
    assert [r["order"] for r in doc["rounds"]] == ["bare, cold, warm", "cold, warm, bare"]
    for r in doc["rounds"]:  # the QA's own seconds: the cold run less both drizzlepac calls
        b, c = r["phases"]["bare"], r["phases"]["cold"]
        outside = c["wall"] - sum(c["pipeline_steps"][k]["wall"]
                                  for k in ("tweakreg", "astrodrizzle"))
        assert abs(r["qa_seconds"] - (outside - (b["wall"] - b["tweakreg"]["wall"]
                                                 - b["astrodrizzle"]["wall"]))) < 1e-9


def test_detection_stops_on_an_errored_run_instead_of_counting_it(tmp_path, monkeypatch,
                                                                  capsys):
    """A dataset that could not be judged (e.g. a missing template) is no verdict: the
    measurement stops with the reason and writes no table."""
    spec = importlib.util.spec_from_file_location("detection", REPO / "benchmarks" /
                                                  "detection.py")
    detection = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(detection)
    monkeypatch.setattr(detection, "run_dataset", lambda ds, cache: DatasetRun(
        name=ds.name, products=None, directory=None,
        error="preparing inputs: sample_flc_header.fits: template not found"))
    out = tmp_path / "detection.md"
    code = detection.main(["--seeds", "2", "--scenario", "clean", "--cache-dir",
                           str(tmp_path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "clean seed 1: dataset synthetic-small-seed1 was not judged: preparing " \
           "inputs: sample_flc_header.fits: template not found" in err
    assert not out.exists()


def test_real_cases_catch_every_fault_without_false_alarms(tmp_path, capsys):
    """benchmarks/real_cases.py (docs/detection-real.md): the new checks on real recorded
    outputs, clean and with injected faults; exit 0 only when every fault fails its check
    and no clean case does."""
    spec = importlib.util.spec_from_file_location("real_cases", REPO / "benchmarks" /
                                                  "real_cases.py")
    real_cases = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(real_cases)
    out = tmp_path / "real.md"
    assert real_cases.main(["--out", str(out)]) == 0, capsys.readouterr().out
    text = out.read_text()
    assert "`stale_products` (alarm: fail): 6/6 faults caught, 0/3 false alarms" in text
    assert "`attempt_spread` (alarm: warn): 1/1 faults caught, 0/2 false alarms" in text
    assert "MISSED" not in text and "| false alarm |" not in text
    # the corpus section: every stated verdict holds, on every corpus folder
    assert "## The corpus" in text and "FALSE ALARM" not in text
    assert "`pipeline_log` (alarm: fail): 7/7 stated faults caught, 0/17 false alarms" in text


def _rounds_module():
    spec = importlib.util.spec_from_file_location("rounds", REPO / "benchmarks" /
                                                  "rounds.py")
    rounds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rounds)
    return rounds


def _bench_round(bare_ad: float, cold_ad: float, qa: float) -> dict:
    """A round as benchmarks/run.py records it: TweakReg 5 s and 4 s outside the two calls
    in the bare run; the cold run has ``qa`` seconds more outside them."""
    bare, cold = bare_ad + 5 + 4, cold_ad + 5 + 4 + qa
    return {"order": "bare, cold, warm", "overhead_ratio": cold / bare,
            "checks_fraction": 2.0 / bare,
            "phases": {"bare": {"wall": bare, "tweakreg": {"wall": 5.0},
                                "astrodrizzle": {"wall": bare_ad}},
                       "cold": {"wall": cold, "pipeline_steps": {
                           "tweakreg": {"wall": 5.0}, "astrodrizzle": {"wall": cold_ad}}}}}


def test_rounds_pool_separates_the_machine_from_the_qa(tmp_path, capsys):
    """benchmarks/rounds.py: the same QA cost (5 s on 91 s) under different AstroDrizzle
    noise gives one qa_ratio and spread overhead ratios; a round in two files counts once;
    a file that is not a benchmark's JSON is named."""
    rounds = _rounds_module()
    a = [_bench_round(82.0, 82.0 + d, 5.0) for d in (-8.0, 0.0, 8.0)]
    (tmp_path / "a.json").write_text(json.dumps({"rounds": a}))
    (tmp_path / "b.json").write_text(json.dumps({"rounds": a[:1] + [
        _bench_round(82.0, 86.0, 5.0)]}))
    rows = rounds.load_rounds([tmp_path / "a.json", tmp_path / "b.json"])
    assert len(rows) == 4
    assert all(abs(r["qa_seconds"] - 5.0) < 1e-9 for r in rows)
    out = rounds.pooled(rows, target=1.10)
    assert abs(out["qa_ratio"]["sd"]) < 1e-12
    assert abs(out["qa_ratio"]["median"] - 96 / 91) < 1e-12
    assert abs(out["astrodrizzle_difference"]["median"] - 2.0) < 1e-12
    ratios = sorted(r["overhead_ratio"] for r in rows)  # 88/91, 96/91, 100/91, 104/91
    assert out["rounds_at_most_target"] == sum(x <= 1.10 for x in ratios) == 3
    # 3-round medians: {88,96,100}, {88,96,104}: 96/91; {88,100,104}, {96,100,104}: 100/91
    assert out["median_of_3_at_most"] == 1.0
    assert rounds.pooled(rows, target=1.06)["median_of_3_at_most"] == 0.5  # 96/91 = 1.055
    assert out["checks_fraction"]["median"] == 2.0 / 91  # every round: 0.022
    assert out["checks_median_of_3_at_most"] == 1.0
    assert rounds.pooled(rows, checks_target=0.02)["checks_median_of_3_at_most"] == 0.0
    assert out["both_median_of_3_at_most"] == 1.0
    assert rounds.pooled(rows, target=1.06)["both_median_of_3_at_most"] == 0.5
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(SystemExit, match="bad.json: not a benchmarks/run.py JSON file"):
        rounds.load_rounds([tmp_path / "bad.json"])
    # the recorded full-size runs read and pool
    recorded = sorted((REPO / "docs" / "benchmarks").glob("*-full*.json"))
    assert rounds.main([str(p) for p in recorded]) == 0
    failing = [p.name for p in recorded if json.loads(p.read_text()).get("failing")]
    assert failing  # a --failing run is named, not pooled
    printed = capsys.readouterr()
    assert all(f"not pooled: {name}: a --failing" in printed.err for name in failing), \
        printed.err
    assert "3-round sets whose median meets it" in printed.out


def test_same_call_times_both_ways_of_calling_drizzlepac(tmp_path):
    """benchmarks/same_call.py: the bare calls and the child's own function, in turn on
    the same inputs with the same threshold, each timed."""
    out = tmp_path / "same.json"
    proc = _run_script(tmp_path, "benchmarks/same_call.py", "--size", "small", "--repeat",
                       "1", "--json", str(out), timeout=600)
    doc = json.loads(out.read_text())
    assert doc["dataset"] == "synthetic-small" and doc["threshold"] == 30.0
    assert [r["kind"] for r in doc["runs"]] == ["bare", "child"]
    for r in doc["runs"]:
        assert 0 < r["tweakreg"] < r["wall"] and 0 < r["astrodrizzle"] < r["wall"]
    assert "child  AstroDrizzle" in proc.stdout


def test_real_cases_corpus_verdicts_name_real_tests_and_folders():
    """Each row of CORPUS_VERDICTS names a corpus folder that exists and a corpus test
    that exists (the table is copied from the tests, so it must point at them)."""
    spec = importlib.util.spec_from_file_location("real_cases", REPO / "benchmarks" /
                                                  "real_cases.py")
    real_cases = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(real_cases)
    folders = {str(p.relative_to(real_cases.CORPUS)) for p in real_cases.corpus_folders()}
    for folder, check, _, expected, test in real_cases.CORPUS_VERDICTS:
        assert folder in folders, folder
        assert expected in ("pass", "fail", "no-fail", "n/a")
        path, _, name = test.partition("::")
        source = (REPO / "tests" / path).read_text()
        assert f"def {name.split('[')[0]}(" in source, test


def test_detection_counts_failed_fits_apart_from_false_alarms():
    """On clean data a seed whose fit failed (an unfitted image) is the pipeline's
    failure, not a check's false alarm; a failing check on a fully fitted run is one."""
    spec = importlib.util.spec_from_file_location("detection", REPO / "benchmarks" /
                                                  "detection.py")
    detection = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(detection)
    ok = {"fit_rms": Status.PASS, "shiftfile_nans": Status.PASS}
    nan = {"fit_rms": Status.FAIL, "shiftfile_nans": Status.FAIL}
    alarm = {"fit_rms": Status.FAIL, "shiftfile_nans": Status.PASS}
    text = detection.table({"clean": [(16, ok, []), (17, nan, ["b_flc.fits"]),
                                      (18, alarm, [])]})
    row = [line for line in text.splitlines() if line.startswith("| ACS/WFC")][0]
    assert "| 16-18 | 1/3 failed fits, 1/3 false alarms; seed 17: b_flc.fits unfitted |" \
        in row
