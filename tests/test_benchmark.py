"""The benchmark command runs end to end (small dataset, two rounds) and writes the
ratios the README quotes; its cold runs start from an empty cache every round."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from qa_process import REPO


def test_small_benchmark_writes_every_ratio(tmp_path):
    out = tmp_path / "bench.json"
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--size", "small", "--repeat", "2",
         "--workdir", str(tmp_path / "work"), "--json", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    doc = json.loads(out.read_text())
    assert doc["dataset"] == "synthetic-small" and doc["repeat"] == 2
    assert len(doc["rounds"]) == 2
    for key in ("overhead_ratio", "overhead_ratio_cpu", "checks_fraction", "warm_ratio",
                "peak_rss_gb"):
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
