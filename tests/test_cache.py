"""The directory cache: atomic publication, no reuse of half-written entries, locking."""
import json
import multiprocessing
import os
import time

import pytest

from hst_align_qa.fixtures.stores.cache import DirectoryCache


def test_build_once_then_reuse(tmp_path):
    cache = DirectoryCache(tmp_path, "products")
    calls = []

    def build(d):
        calls.append(d)
        (d / "x.txt").write_text("hello")
        return {"n": 1}

    first = cache.get_or_build("abc", build)
    second = cache.get_or_build("abc", build)
    assert not first.reused and second.reused and len(calls) == 1
    assert (second.path / "x.txt").read_text() == "hello"
    assert second.record["n"] == 1


def test_failed_build_publishes_nothing(tmp_path):
    cache = DirectoryCache(tmp_path, "products")

    def build(d):
        (d / "half.fits").write_text("partial")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        cache.get_or_build("abc", build)
    assert cache.lookup("abc") is None
    assert list((tmp_path / "products").iterdir()) == []


def test_leftover_of_killed_run_is_never_used(tmp_path):
    cache = DirectoryCache(tmp_path, "products")
    stale = tmp_path / "products" / ".tmp-abc-999-1"
    stale.mkdir(parents=True)
    (stale / "final_drc.fits").write_text("half")
    # A directory without a valid record, as if published by hand: not an entry either.
    bogus = tmp_path / "products" / "abc"
    bogus.mkdir()
    (bogus / "qa-entry.json").write_text(json.dumps({"key": "other"}))
    assert cache.lookup("abc") is None
    entry = cache.get_or_build("abc", lambda d: (d / "ok").write_text("1") and {})
    assert not entry.reused and (entry.path / "ok").exists()
    assert not stale.exists()


def _worker(root, out):
    cache = DirectoryCache(root, "products")

    def build(d):
        time.sleep(0.5)
        (d / "pid").write_text(str(os.getpid()))
        return {}

    entry = cache.get_or_build("shared", build)
    out.put((os.getpid(), entry.reused, (entry.path / "pid").read_text()))


def test_two_processes_build_once(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(tmp_path, q)) for _ in range(2)]
    for p in procs:
        p.start()
    got = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(60)
    assert sorted(r for _, r, _ in got) == [False, True]
    assert len({pid for _, _, pid in got}) == 1


def test_keys_must_be_plain(tmp_path):
    with pytest.raises(ValueError):
        DirectoryCache(tmp_path, "products").path_for("../x")
