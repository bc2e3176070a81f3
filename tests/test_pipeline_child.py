"""The pipeline's child: started by one function (:func:`start_child`), early by the
plugin or when a dataset's products must be built; a child not needed (cached products)
ends unused; its temporary HOME is removed however it ends; it stops when its parent dies;
its own death is one line of error."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hst_align_qa.fixtures.pipeline import handle as pipeline
from hst_align_qa.fixtures.pipeline import runner
from hst_align_qa.fixtures.config.datasets import load_manifest
from hst_align_qa.fixtures.pipeline.request import (OUTPUT, RESULT, STDOUT, PipelineError,
                                           PipelineRequest)
from hst_align_qa.fixtures.sources import synthetic as S
from qa_process import REPO

MANIFEST = REPO / "qa" / "datasets.toml"


@pytest.fixture(scope="module")
def small_inputs(tmp_path_factory):
    return S.generate(S.SyntheticSpec(seed=2, size="small"), tmp_path_factory.mktemp("syn"))




PARENT_STARTING_A_CHILD = """
import time
from hst_align_qa.fixtures.pipeline.handle import start_child
child = start_child()
print(child._proc.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="the kernel's signal on a parent's death is Linux's")
def test_waiting_child_whose_parent_is_killed_stops(tmp_path):
    """pytest SIGKILLed before it hands its early child a run: the child stops too."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the orphan's HOME stays: here
    with subprocess.Popen([sys.executable, "-c", PARENT_STARTING_A_CHILD], env=env,
                          stdout=subprocess.PIPE, text=True) as parent:
        try:
            child = int(parent.stdout.readline())
        finally:
            parent.kill()
    deadline = time.monotonic() + 120
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{child}").exists(), "the orphaned child is still running"


def test_child_given_no_run_exits_at_once_writing_nothing(tmp_path):
    """The child imports drizzlepac, then reads its run directory from stdin: end of input
    (or an empty line) ends it with exit code 0 and no output."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "HOME": str(tmp_path / "home"), "MPLBACKEND": "Agg",
           "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-m", pipeline.CHILD], input="", cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and list(cwd.iterdir()) == []


def test_started_child_never_used_ends_and_leaves_no_home(child_homes):
    child = pipeline.start_child()
    proc = child._proc
    assert proc.poll() is None  # still importing drizzlepac
    child.close()
    assert proc.poll() is not None
    assert len(child_homes) == 1 and not child_homes[0].exists()
    child.close()  # again: nothing to do
    with pytest.raises(RuntimeError, match="runs once"):
        child.run(PipelineRequest(inputs=()), Path("unused"))


PARENT_RUNNING_A_CHILD = """
import sys
from pathlib import Path
from hst_align_qa.fixtures.pipeline.handle import run_in_child
from hst_align_qa.fixtures.pipeline.request import PipelineRequest
request = PipelineRequest(inputs=tuple(sys.argv[2:]), imagefind={"threshold": 30.0})
run_in_child(request, Path(sys.argv[1]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="the kernel's signal on a parent's death is Linux's")
def test_child_whose_parent_is_killed_mid_run_stops(small_inputs, tmp_path):
    """pytest SIGKILLed while its child runs the pipeline: the child stops there, as on
    Ctrl-C (no result, no drizzled product: it does not go on to AstroDrizzle for nobody)."""
    rundir = tmp_path / "run"
    rundir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the orphan's HOME stays: here
    with subprocess.Popen([sys.executable, "-c", PARENT_RUNNING_A_CHILD, str(rundir),
                           *map(str, small_inputs.files)], env=env) as parent:
        try:
            deadline = time.monotonic() + 300  # it imports drizzlepac, then starts the run
            while not (rundir / STDOUT).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert (rundir / STDOUT).exists(), "the child never started its run"
            children = subprocess.run(["pgrep", "-P", str(parent.pid)], capture_output=True,
                                      text=True).stdout.split()
            assert len(children) == 1
        finally:
            parent.kill()
    child = int(children[0])
    deadline = time.monotonic() + 120
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{child}").exists(), "the orphaned child is still running"
    assert not (rundir / RESULT).exists()
    assert not list(rundir.glob(f"{OUTPUT}_dr?.fits")), sorted(os.listdir(rundir))


def test_child_dying_is_a_one_line_error_and_leaves_no_home(monkeypatch, small_inputs,
                                                            tmp_path, child_homes):
    monkeypatch.setattr(pipeline, "CHILD", "hst_align_qa.fixtures.no_such_module")
    request = PipelineRequest(inputs=tuple(str(p) for p in small_inputs.files),
                              imagefind={"threshold": 30.0})
    with pytest.raises(PipelineError) as err:
        pipeline.run_in_child(request, tmp_path, timeout=120)
    msg = str(err.value)
    assert msg.startswith("pipeline process exit code 1: ") and "no_such_module" in msg
    assert "\n" not in msg
    assert len(child_homes) == 1 and not child_homes[0].exists()


def test_child_timed_out_is_killed_and_leaves_no_home(small_inputs, tmp_path, child_homes):
    """A child still running at the timeout is killed; one line says so."""
    request = PipelineRequest(inputs=tuple(str(p) for p in small_inputs.files),
                              imagefind={"threshold": 30.0})
    with pytest.raises(PipelineError, match=r"^pipeline timed out after 1 s in "):
        pipeline.run_in_child(request, tmp_path, timeout=1)  # less than its imports take
    assert len(child_homes) == 1 and not child_homes[0].exists()
    assert not (tmp_path / RESULT).exists()


def test_one_function_starts_the_child():
    """``subprocess`` is used in one module of the product code, and one function
    (start_child) starts the child."""
    product = [*(REPO / "fixtures").rglob("*.py"), *(REPO / "checks").rglob("*.py")]
    users = sorted(str(p.relative_to(REPO)) for p in product
                   if "subprocess." in p.read_text())
    assert users == ["fixtures/pipeline/handle.py"]
    text = (REPO / "fixtures" / "pipeline" / "handle.py").read_text()
    assert text.count("subprocess.Popen(") == 1


class Started:
    """Stands in for :func:`start_child`: records each start; its child's run writes one
    product."""

    def __init__(self):
        self.calls: list[dict] = []

    def __call__(self, matplotlib_dir=None):
        return FakeChild(self, matplotlib_dir)


class FakeChild:
    def __init__(self, started, matplotlib_dir):
        self.started, self.matplotlib_dir = started, matplotlib_dir
        self.used = self.closed = False

    def run(self, request, rundir, *, timeout=None, stages=None, decide=None):
        self.used = True
        self.started.calls.append({"request": request, "timeout": timeout,
                                   "matplotlib_dir": self.matplotlib_dir})
        (rundir / "product.txt").write_text("made")
        return {"products": ["product.txt"], "timings": {}}

    def close(self):
        self.used = self.closed = True


def test_the_child_starts_only_when_the_products_must_be_built(monkeypatch, tmp_path):
    dataset = load_manifest(MANIFEST).get("synthetic-small")
    cache = tmp_path / "cache"
    started = Started()
    monkeypatch.setattr(runner, "start_child", started)

    first = runner.build_dataset(dataset, cache, timeout=77)
    assert first.error is None and not first.reused
    assert len(started.calls) == 1
    call = started.calls[0]
    assert call["timeout"] == 77
    assert call["matplotlib_dir"] == cache / "matplotlib"  # kept in the cache
    assert call["request"].inputs == tuple(str(p) for p in first.inputs.files)

    warm = runner.build_dataset(dataset, cache)
    assert warm.reused and warm.directory == first.directory
    assert len(started.calls) == 1  # cached: no child

    changed = dataclasses.replace(dataset, tweakreg={**dataset.tweakreg, "searchrad": 3.0})
    other = runner.build_dataset(changed, cache)
    assert not other.reused and other.directory != first.directory
    assert len(started.calls) == 2


def test_an_early_child_runs_the_first_build_or_ends_unused(monkeypatch, tmp_path):
    """The child started by the plugin runs the build it is given; with the products
    cached it is closed without a run; either way no other child starts."""
    dataset = load_manifest(MANIFEST).get("synthetic-small")
    cache = tmp_path / "cache"
    started = Started()
    monkeypatch.setattr(runner, "start_child", started)
    early = FakeChild(started, cache / "matplotlib")

    first = runner.build_dataset(dataset, cache, child=early)
    assert first.error is None and not first.reused
    assert len(started.calls) == 1 and early.closed

    unused = FakeChild(started, None)
    warm = runner.build_dataset(dataset, cache, child=unused)
    assert warm.reused and unused.closed
    assert len(started.calls) == 1
