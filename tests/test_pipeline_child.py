"""The pipeline's child started before its run is known: it imports drizzlepac while the
plugin is imported and the inputs are hashed and sampled, is stopped when the products
turn out to be cached, and reports its own death in one line."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hst_align_qa.fixtures import early, pipeline, runner
from hst_align_qa.fixtures.datasets import load_manifest
from hst_align_qa.fixtures.request import (OUTPUT, RESULT, STDOUT, PipelineError,
                                           PipelineRequest)
from hst_align_qa.fixtures.sources import synthetic as S
from hst_align_qa.fixtures.threshold import (resolve_imagefind, sample_inputs,
                                             sampled_from_json, sampled_to_json)
from qa_process import REPO

MANIFEST = REPO / "qa" / "datasets.toml"


@pytest.fixture(scope="module")
def small_inputs(tmp_path_factory):
    return S.generate(S.SyntheticSpec(seed=2, size="small"), tmp_path_factory.mktemp("syn"))


def test_unused_child_is_stopped_and_leaves_no_home():
    child = pipeline.PipelineChild()
    home = child.home
    assert home.is_dir() and child.proc.poll() is None
    child.close()
    assert child.proc.returncode is not None
    assert not home.exists()


def test_child_told_nothing_exits_without_doing_anything(tmp_path):
    """Its stdin closed without a run (the parent went away): it ends, exit code 0.
    matplotlib's font cache goes to the directory given, kept for the next child."""
    with pipeline.PipelineChild(tmp_path / "mpl") as child:
        child.proc.stdin.close()
        assert child.proc.wait(timeout=300) == 0
        assert (child.home / "stderr.txt").read_text() == ""
    assert list((tmp_path / "mpl").glob("fontlist-*.json"))


def test_child_whose_parent_is_killed_removes_its_home():
    """pytest SIGKILLed alone (e.g. by the OOM killer) cannot remove its child's HOME:
    the child, seeing its stdin closed and its parent gone, removes it when it ends."""
    code = ("import time; from hst_align_qa.fixtures.pipeline import PipelineChild; "
            "c = PipelineChild(); print(c.home, c.proc.pid, flush=True); time.sleep(600)")
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                          text=True) as parent:
        try:
            home, _ = parent.stdout.readline().split()
            assert Path(home).is_dir()
        finally:
            parent.kill()
    deadline = time.monotonic() + 300  # it imports drizzlepac first
    while Path(home).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(home).exists()


PARENT_SENDING_A_RUN = """
import json, sys, time
from pathlib import Path
from hst_align_qa.fixtures.pipeline import PipelineChild
from hst_align_qa.fixtures.request import PipelineRequest
rundir = Path(sys.argv[1])
request = PipelineRequest(inputs=tuple(sys.argv[2:]), imagefind={"threshold": 30.0})
(rundir / "request.json").write_text(json.dumps(request.to_json()))
child = PipelineChild()
child.proc.stdin.write(json.dumps({"rundir": str(rundir)}) + "\\n")
child.proc.stdin.close()
print(child.home, child.proc.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="the kernel's signal on a parent's death is Linux's")
def test_child_whose_parent_is_killed_mid_run_stops(small_inputs, tmp_path):
    """pytest SIGKILLed while its child runs the pipeline: the child stops there, as on
    Ctrl-C (no result, no drizzled product: it does not go on to AstroDrizzle for nobody)
    and removes its HOME."""
    rundir = tmp_path / "run"
    rundir.mkdir()
    with subprocess.Popen([sys.executable, "-c", PARENT_SENDING_A_RUN, str(rundir),
                           *map(str, small_inputs.files)],
                          stdout=subprocess.PIPE, text=True) as parent:
        try:
            home, pid = parent.stdout.readline().split()
            deadline = time.monotonic() + 300  # it imports drizzlepac, then starts the run
            while not (rundir / STDOUT).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert (rundir / STDOUT).exists(), "the child never started its run"
        finally:
            parent.kill()
    deadline = time.monotonic() + 120
    while Path(home).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(home).exists()
    assert not (rundir / RESULT).exists()
    assert not list(rundir.glob(f"{OUTPUT}_dr?.fits")), sorted(os.listdir(rundir))


def test_child_dying_before_its_run_is_a_one_line_error(monkeypatch, small_inputs,
                                                       tmp_path):
    monkeypatch.setattr(pipeline, "CHILD", "hst_align_qa.fixtures.no_such_module")
    request = PipelineRequest(inputs=tuple(str(p) for p in small_inputs.files),
                              imagefind={"threshold": 30.0})
    with pytest.raises(PipelineError) as err:
        pipeline.run_isolated(request, tmp_path, timeout=120)
    msg = str(err.value)
    assert msg.startswith("pipeline process exit code 1: ") and "no_such_module" in msg
    assert "\n" not in msg


def test_samples_cross_to_the_child_exactly(small_inputs):
    """The parent's samples, through JSON, give the child the same estimate, threshold
    and memory guard as sampling there."""
    request = PipelineRequest(inputs=tuple(str(p) for p in small_inputs.files),
                              imagefind={"threshold": 30.0, "conv_width": 3.5})
    sampled = sample_inputs(request.imagefind, request.inputs)
    crossed = sampled_from_json(json.loads(json.dumps(sampled_to_json(sampled))))
    assert [s.heights.tolist() for s in crossed[0]] == [s.heights.tolist()
                                                        for s in sampled[0]]
    here = resolve_imagefind(request, request.inputs)
    there = resolve_imagefind(request, request.inputs, crossed)
    assert here[0] == there[0]
    drop = ("seconds", "sampling_seconds")
    assert ({k: v for k, v in here[1].items() if k not in drop}
            == {k: v for k, v in there[1].items() if k not in drop})
    assert here[1]["estimated"]  # something was estimated


class FakeChild:
    """Records when a child is started, run and closed; its run writes one product."""

    events: list[str] = []

    def __init__(self, matplotlib_dir=None):
        self.events.append("start")
        self.matplotlib_dir = matplotlib_dir
        FakeChild.last = self

    def run(self, request, rundir, samples=None, *, timeout=None, while_running=None):
        self.events.append("run")
        self.samples = samples
        (rundir / "product.txt").write_text("made")
        return {"products": ["product.txt"], "timings": {}}

    def close(self):
        self.events.append("close")


def test_child_starts_before_hashing_only_when_the_digests_are_unknown(
        monkeypatch, tmp_path):
    dataset = load_manifest(MANIFEST).get("synthetic-small")
    cache = tmp_path / "cache"
    events = FakeChild.events = []
    monkeypatch.setattr(pipeline, "PipelineChild", FakeChild)
    real_digest = runner.file_digest
    monkeypatch.setattr(runner, "file_digest",
                        lambda p: events.append("hash") or real_digest(p))
    runner.prepare_inputs(dataset, cache)  # the synthetic inputs exist (not QA's work)

    first = runner.build_dataset(dataset, cache)
    assert first.error is None and not first.reused
    # a cold run: the child imports while the three inputs are hashed, then runs
    assert events == ["start", "hash", "hash", "hash", "run", "close"]
    assert FakeChild.last.matplotlib_dir == cache / "matplotlib"  # kept in the cache

    events.clear()
    warm = runner.build_dataset(dataset, cache)
    assert warm.reused and events == []  # digests remembered, products cached: no child

    events.clear()
    shutil.rmtree(cache / "memo")  # digests forgotten, products still cached
    again = runner.build_dataset(dataset, cache)
    assert again.reused and again.directory == first.directory
    assert events == ["start", "hash", "hash", "hash", "close"]  # started, never run

    events.clear()
    changed = dataclasses.replace(dataset, tweakreg={**dataset.tweakreg, "searchrad": 3.0})
    other = runner.build_dataset(changed, cache)
    assert not other.reused and other.directory != first.directory
    assert events == ["start", "run", "close"]  # digests known: started when needed


def test_a_child_given_to_the_build_is_used_or_closed(monkeypatch, tmp_path):
    """The session's early child: the build runs in it (no second child), or, when the
    products are cached, closes it unused; the parent's samples go with the run."""
    dataset = load_manifest(MANIFEST).get("synthetic-small")
    cache = tmp_path / "cache"
    events = FakeChild.events = []
    monkeypatch.setattr(pipeline, "PipelineChild", FakeChild)
    runner.prepare_inputs(dataset, cache)
    given = FakeChild()
    built = runner.build_dataset(dataset, cache, child=given)
    assert not built.reused and events == ["start", "run", "close"]
    assert FakeChild.last is given
    assert {s["image"] for s in given.samples["samples"]} == {
        p.name for p in built.inputs.files}

    events.clear()
    again = runner.build_dataset(dataset, cache, child=FakeChild())
    assert again.reused and events == ["start", "close"]  # cached: closed unused


def _configured(pytester, monkeypatch, *args):
    """``early_child``'s decision for a command line: the child it started, or None."""
    started = []
    monkeypatch.setattr(early, "PipelineChild",
                        lambda mpl: started.append(mpl) or FakeChild(mpl))
    config = pytester.parseconfigure(*args)
    child = config.stash.get(early.EARLY_CHILD, None)
    assert (child is not None) == bool(started)
    return child


@pytest.mark.parametrize("extra, starts", [
    ((), True),
    (("--collect-only",), False),
    (("--products-dir", "somewhere"), False),
    (("--dask-scheduler", "tcp://127.0.0.1:1"), False),
])
def test_a_qa_session_starts_its_child_in_its_first_hook(pytester, monkeypatch, tmp_path,
                                                         extra, starts):
    suite = str(early.QA_SUITE_DIR)
    FakeChild.events = []
    child = _configured(pytester, monkeypatch, suite, f"--qa-cache-dir={tmp_path}", *extra)
    assert (child is not None) == starts
    if starts:
        assert child.matplotlib_dir == tmp_path / "matplotlib"


def test_no_child_when_the_qa_suite_is_not_run(pytester, monkeypatch, tmp_path):
    pytester.makepyfile(test_other="def test_x():\n    pass\n")
    assert _configured(pytester, monkeypatch, str(pytester.path),
                       f"--qa-cache-dir={tmp_path}") is None
