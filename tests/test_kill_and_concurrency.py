"""A run killed mid-AstroDrizzle, two concurrent runs, a damaged cache entry: end to end.

One sequence on one cache directory (one pipeline build in all, to keep the suite short):

1. ``pytest qa/ --input-dir`` is started in its own process group and SIGKILLed, with
   its pipeline child, once AstroDrizzle has written its first intermediate
   (``*_single_sci.fits``) into the cache's private ``.tmp-*`` run directory;
2. two ``pytest qa/`` runs are then started at the same time on the same cache: one
   must build (sweeping the killed run's leftover), the other wait and reuse;
3. a product is deleted from the published entry: the next run must rebuild it.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from qa_process import REPO, qa_command, run_qa

from hst_align_qa.fixtures.stores.cache import file_digest

DEFAULT = "in"  # --input-dir runs a dataset named after the directory (tmp/in)


def sums(directory: Path) -> dict[str, str]:
    return {p.name: file_digest(p) for p in sorted(directory.iterdir()) if p.is_file()}


def verdicts(doc: dict) -> list[tuple]:
    return sorted((r["check"], r["subject"], r["status"], r["observed"])
                  for r in doc["results"])


def _wait_for_astrodrizzle(products: Path, proc: subprocess.Popen, timeout: float) -> Path:
    """The ``.tmp-*`` run directory once AstroDrizzle has written an intermediate."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (code {proc.returncode}) before "
                                 "AstroDrizzle was seen running")
        for rundir in products.glob(".tmp-*"):
            if (rundir / "astrodrizzle.log").is_file() and any(
                    rundir.glob("*_single_sci.fits")):
                return rundir
        time.sleep(0.05)
    raise AssertionError(f"AstroDrizzle not seen running within {timeout} s")


def _alive_in_group(pgid: int, wait: float = 10.0) -> list[int]:
    """Processes of group ``pgid`` that are neither gone nor zombies (after ``wait`` s)."""
    deadline = time.monotonic() + wait
    while True:
        alive = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(stat.parent.name))
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    from hst_align_qa.fixtures.sources.synthetic import SyntheticSpec, generate

    tmp = tmp_path_factory.mktemp("kill")
    user = tmp / "in"
    generate(SyntheticSpec(), tmp / "gen")
    user.mkdir()
    for p in sorted((tmp / "gen").glob("*_flc.fits")):
        shutil.copyfile(p, user / p.name)
    cache = tmp / "cache"
    before = sums(user)
    out: dict = {"user": user, "cache": cache, "before": before}

    # 1. SIGKILL the whole process group while AstroDrizzle runs
    killed = tmp / "killed"
    killed.mkdir()
    cmd, env = qa_command(killed, cache, "--input-dir", str(user))
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        rundir = _wait_for_astrodrizzle(cache / "products", proc, timeout=600)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    out["alive_in_group"] = _alive_in_group(proc.pid)  # the pipeline child died with it
    out["killed_code"] = proc.returncode
    out["leftover"] = rundir
    out["leftover_files"] = sorted(p.name for p in rundir.iterdir())
    out["published_after_kill"] = sorted(p.name for p in (cache / "products").iterdir()
                                         if not p.name.startswith(".tmp-"))
    out["killed_json"] = (killed / "qa.json").exists()

    # 2. two full runs at the same time on the same cache
    runs = [tmp / "a", tmp / "b"]
    for d in runs:
        d.mkdir()
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(run_qa, d, cache, "--input-dir", str(user)) for d in runs]
        out["concurrent"] = [f.result() for f in futures]
    out["after_concurrent"] = sums(user)
    out["entries"] = sorted(p.name for p in (cache / "products").iterdir())

    # 3. a product deleted from the published entry by hand
    entry = Path(out["concurrent"][0][1]["datasets"][DEFAULT]["products"])
    (entry / "tweakreg.log").unlink()
    out["damaged"] = run_qa(tmp / "c", cache, "--input-dir", str(user))
    out["entry"] = entry
    out["after"] = sums(user)
    return out


def test_killed_run_leaves_only_an_unpublished_leftover(sequence):
    assert sequence["killed_code"] == -signal.SIGKILL
    assert sequence["alive_in_group"] == []
    assert not sequence["killed_json"]
    # killed mid-way: AstroDrizzle intermediates but no final product, nothing published
    files = sequence["leftover_files"]
    assert "astrodrizzle.log" in files and "tweakreg.log" in files, files
    assert "qa-entry.json" not in files, files
    assert sequence["published_after_kill"] == [], sequence["published_after_kill"]


def test_rerun_after_kill_rebuilds_and_judges_normally(sequence):
    docs = [doc for _, doc, _ in sequence["concurrent"]]
    for code, doc, output in sequence["concurrent"]:
        assert doc is not None, output[-3000:]
        assert code == 0, output[-3000:]
        assert "Traceback" not in output, output[-3000:]
        ds = doc["datasets"][DEFAULT]
        assert ds["error"] is None and ds["verdict"] in ("pass", "warn"), ds
    assert not sequence["leftover"].exists()  # swept by the builder, never reused
    assert [d["datasets"][DEFAULT]["reused"] for d in docs].count(False) == 1
    assert sequence["after_concurrent"] == sequence["before"]


def test_two_concurrent_runs_build_once_and_agree(sequence):
    (_, a, _), (_, b, _) = sequence["concurrent"]
    # the pipeline ran once: one run built, the other waited for the lock and reused
    assert sorted(d["datasets"][DEFAULT]["reused"] for d in (a, b)) == [False, True]
    assert a["datasets"][DEFAULT]["products"] == b["datasets"][DEFAULT]["products"]
    assert verdicts(a) == verdicts(b)
    # one published entry and no half-written directory beside it
    assert len(sequence["entries"]) == 1 and not sequence["entries"][0].startswith(".")
    entry = Path(a["datasets"][DEFAULT]["products"])
    assert entry.name == sequence["entries"][0]


def test_damaged_cache_entry_is_rebuilt_not_used(sequence):
    code, doc, output = sequence["damaged"]
    assert doc is not None, output[-3000:]
    assert code == 0, output[-3000:]
    ds = doc["datasets"][DEFAULT]
    assert ds["reused"] is False and ds["error"] is None, ds
    assert (sequence["entry"] / "tweakreg.log").is_file()
    (_, first, _) = sequence["concurrent"][0]
    assert verdicts(doc) == verdicts(first)
    assert sequence["after"] == sequence["before"]
