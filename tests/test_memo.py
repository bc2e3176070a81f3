"""Reused measurements and figures: reused only while nothing they depend on changed."""
from __future__ import annotations

import importlib.util
import os
import shutil
import sys

import pytest

from hst_align_qa.checks.registry import discover
from hst_align_qa.checks.result import Measurement, Status
from hst_align_qa.fixtures.stores import memo as M
from hst_align_qa.fixtures.verdicts.judge import judge, threshold_table
from hst_align_qa.fixtures.pipeline.runner import judge_directory


class Counter:
    def __init__(self, value=1.0):
        self.calls = 0
        self.value = value

    def __call__(self):
        self.calls += 1
        return [Measurement("s", self.value, "m", {"n": 3, "xs": [1, 2]}, significant=True)]


def _check(**kwargs):  # the "check" whose module (this file) is part of the key
    return []


def test_measurements_reused_and_invalidated_by_products_and_params(tmp_path):
    memo = M.Memo(tmp_path / "memo")
    compute = Counter()
    first = memo.measurements("fp1", _check, {"a": 1}, compute)
    again = memo.measurements("fp1", _check, {"a": 1}, compute)
    assert compute.calls == 1 and again == first
    assert again[0].details["xs"] == [1, 2] and again[0].significant is True
    memo.measurements("fp2", _check, {"a": 1}, compute)  # other products
    assert compute.calls == 2
    memo.measurements("fp1", _check, {"a": 2}, compute)  # other parameters
    assert compute.calls == 3
    assert M.Memo(tmp_path / "memo").measurements("fp1", _check, {"a": 1}, compute) == first
    assert compute.calls == 3  # another process (a new Memo) reuses it too


def test_nan_values_and_statuses_survive(tmp_path):
    memo = M.Memo(tmp_path)
    m = [Measurement("x", float("nan"), "no", {}, status=Status.SKIP)]
    memo.measurements("fp", _check, {}, lambda: m)
    got = memo.measurements("fp", _check, {}, lambda: pytest.fail("recomputed"))
    assert got[0].status is Status.SKIP and got[0].value != got[0].value


def test_changed_check_code_is_measured_again(tmp_path, monkeypatch):
    src = tmp_path / "mycheck_mod.py"
    src.write_text("def mycheck(**kw):\n    return []\n")
    spec = importlib.util.spec_from_file_location("mycheck_mod", src)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "mycheck_mod", module)
    spec.loader.exec_module(module)
    memo = M.Memo(tmp_path / "memo")
    compute = Counter()
    memo.measurements("fp", module.mycheck, {}, compute)
    memo.measurements("fp", module.mycheck, {}, compute)
    assert compute.calls == 1
    src.write_text("def mycheck(**kw):\n    return []  # changed\n")
    M.code_digest.cache_clear()  # (a new process computes it afresh)
    memo.measurements("fp", module.mycheck, {}, compute)
    assert compute.calls == 2


def test_fingerprint_follows_every_file(tmp_path):
    d = tmp_path / "products"
    d.mkdir()
    (d / "shifts.txt").write_text("a")
    inp = tmp_path / "in_flc.fits"
    inp.write_bytes(b"x")
    fp = M.products_fingerprint(d, [inp])
    assert fp == M.products_fingerprint(d, [inp])
    (d / "shifts.txt").write_text("ab")  # content (size) changed
    fp2 = M.products_fingerprint(d, [inp])
    assert fp2 != fp
    os.utime(inp, ns=(1, 1))  # an input touched
    assert M.products_fingerprint(d, [inp]) != fp2
    (d / "new.coo").write_text("")  # a product added
    assert M.products_fingerprint(d, [inp]) not in (fp, fp2)
    assert M.products_fingerprint(None) is None


def test_figures_reused_and_keyed(tmp_path):
    memo = M.Memo(tmp_path)
    drawn = []

    def draw():
        drawn.append(1)
        return b"\x89PNG\r\n\x1a\nfake"
    assert memo.png("fp", ["wht", 1], draw) == memo.png("fp", ["wht", 1], draw)
    memo.png("fp", ["wht", 2], draw)
    memo.png("other", ["wht", 1], draw)
    assert len(drawn) == 3
    assert M.Memo(None).png("fp", ["wht", 1], draw) and len(drawn) == 4  # no memo: draw


def test_file_fact_reused_until_the_file_changes(tmp_path):
    f = tmp_path / "a.fits"
    f.write_bytes(b"one")
    calls = []

    def compute():
        calls.append(1)
        return f.read_bytes().decode()
    assert M.file_fact(tmp_path / "memo", "content", [f], compute) == "one"
    assert M.file_fact(tmp_path / "memo", "content", [f], compute) == "one"
    assert len(calls) == 1
    f.write_bytes(b"three")
    assert M.file_fact(tmp_path / "memo", "content", [f], compute) == "three"

    def broken():
        raise ValueError("bad file")
    g = tmp_path / "b.fits"
    g.write_bytes(b"")
    for _ in range(2):  # a failure is never stored
        with pytest.raises(ValueError):
            M.file_fact(tmp_path / "memo", "content", [g], broken)


def test_changed_threshold_rejudges_reused_measurements(real_data, tmp_path):
    """Thresholds apply after measuring: a reused measurement gets the new verdict."""
    products = tmp_path / "p"
    shutil.copytree(real_data / "tweakreg_runs" / "align_sparse_fields", products)
    run = judge_directory(products)
    spec = next(s for s in discover() if s.name == "fit_rms")
    memo = M.Memo(tmp_path / "memo")
    loose = judge(run, spec, threshold_table({"fit_rms": {"warn": 5.0, "fail": 10.0}}), memo)
    strict = judge(run, spec, threshold_table({"fit_rms": {"warn": 0.001, "fail": 0.002}}),
                   memo)
    assert memo.misses == 1 and memo.hits == 1
    assert {r.status for r in loose} == {Status.PASS}
    assert Status.FAIL in {r.status for r in strict}
    assert [r.observed for r in loose] == [r.observed for r in strict]
    # the products change: measured again
    shift = next(products.glob("shift*.txt"))
    shift.write_text(shift.read_text() + "\n")
    judge(judge_directory(products), spec, threshold_table(), memo)
    assert memo.misses == 2
