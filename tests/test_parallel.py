"""Many datasets at once: `pytest qa/ -n 2` (pytest-xdist) and `--dask-scheduler` (a real
`distributed.LocalCluster` on loopback) give the verdicts of a serial run, each dataset's
pipeline running exactly once, where it is meant to run.

The serial reference run is shared by the module; every run starts from an empty product
cache (the generated synthetic inputs are copied, so only the pipeline is repeated).
"""
from __future__ import annotations

import os
import re
import shutil
import socket
from pathlib import Path

import pytest
from qa_process import run_qa

from hst_align_qa.fixtures.stores.cache import DirectoryCache
from hst_align_qa.fixtures.pipeline.runner import BuiltDataset
from hst_align_qa.fixtures.sources.base import PreparedInputs

# a passing dataset, one failing a combination check, one failing its alignment (the gate
# stops it before AstroDrizzle: issue 25)
DATASETS = ("synthetic-small", "synthetic-shift0.5", "synthetic-nan")
ARGS = tuple(a for name in DATASETS for a in ("--dataset", name))


def verdicts(doc: dict) -> dict[tuple[str, str, str], tuple[str, str]]:
    """Status per dataset, check and subject (with the message of a check the alignment
    gate did not run), and each dataset's stop (why AstroDrizzle did not run)."""
    out = {(r["dataset"], r["check"], r["subject"]): (
        r["status"], r["message"] if r["message"].startswith("not run: the alignment")
        else "") for r in doc["results"]}
    out.update({(n, "stopped", ""): (d["stopped"], d["drizzle"])
                for n, d in doc["datasets"].items()})
    return out


def builder_pid(doc: dict, dataset: str) -> int:
    """The pid of the process that ran the dataset's pipeline (the run's notes)."""
    note = doc["datasets"][dataset]["notes"]["pipeline run by"]
    return int(re.fullmatch(r"host .+, pid (\d+)", note).group(1))


def cold_cache(serial_cache: Path, path: Path) -> Path:
    """An empty product cache with the serial run's generated inputs."""
    shutil.copytree(serial_cache / "inputs", path / "inputs")
    return path


def assert_built_once(doc: dict, cache: Path) -> None:
    """Every dataset built in this run (not reused), one product entry each."""
    for name in DATASETS:
        ds = doc["datasets"][name]
        assert ds["reused"] is False and ds["error"] is None, ds
        assert Path(ds["products"]).parent == cache / "products"
    assert len([p for p in (cache / "products").iterdir()]) == len(DATASETS)


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> tuple[dict, Path]:
    """The reference: both datasets in one process, one after the other."""
    tmp = tmp_path_factory.mktemp("serial")
    code, doc, output = run_qa(tmp, tmp / "cache", *ARGS, html=False)
    assert doc is not None, output[-3000:]
    assert code == 1, output[-3000:]  # synthetic-shift0.5 fails visit_registration
    assert doc["datasets"]["synthetic-shift0.5"]["verdict"] == "fail"
    assert doc["datasets"]["synthetic-small"]["verdict"] in ("pass", "warn")
    assert doc["datasets"]["synthetic-nan"]["verdict"] == "fail"
    assert [d["stopped"] is not None for d in doc["datasets"].values()] == [
        n == "synthetic-nan" for n in doc["datasets"]]
    assert {r["check"] for r in doc["results"] if r["dataset"] == "synthetic-nan"
            and r["message"].startswith("not run: the alignment failed (")} == {
        "absolute_astrometry", "visit_registration", "weight_imprint"}
    return doc, tmp / "cache"


def test_xdist_gives_serial_verdicts_one_worker_per_dataset(serial, tmp_path):
    ref, serial_cache = serial
    cache = cold_cache(serial_cache, tmp_path / "cache")
    code, doc, output = run_qa(tmp_path, cache, *ARGS, "-n", "2", "-vv")  # -q -vv: verbose
    assert doc is not None, output[-3000:]
    assert code == 1, output[-3000:]
    assert "scheduling tests via DatasetScheduling" in output  # loadgroup chosen for -n
    assert verdicts(doc) == verdicts(ref)
    assert {n: d["verdict"] for n, d in doc["datasets"].items()} == \
        {n: d["verdict"] for n, d in ref["datasets"].items()}
    assert_built_once(doc, cache)
    # Each dataset's tests all ran in one worker, and the two datasets in different ones.
    ran: dict[str, set[str]] = {}
    for worker, ident in re.findall(r"^\[(gw\d)\] .*::test_\w+\[(.+)\]", output, re.M):
        name = next(n for n in DATASETS if ident == n or ident.startswith(n + "-"))
        ran.setdefault(name, set()).add(worker)
    assert set(ran) == set(DATASETS), output[-3000:]
    assert all(len(w) == 1 for w in ran.values()), ran
    assert {doc["datasets"][n]["notes"]["xdist workers"] for n in DATASETS} == \
        {w for ws in ran.values() for w in ws}
    assert len({builder_pid(doc, n) for n in DATASETS}) == 2  # in the two workers


@pytest.fixture(scope="module")
def local_cluster():
    """A real Dask cluster on loopback: a scheduler and two worker processes."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster:
        with Client(cluster) as client:
            pids = set(client.run(os.getpid).values())
        yield cluster.scheduler_address, pids


def test_dask_cluster_gives_serial_verdicts_pipelines_on_its_workers(
        serial, local_cluster, tmp_path):
    ref, serial_cache = serial
    address, worker_pids = local_cluster
    cache = cold_cache(serial_cache, tmp_path / "cache")
    code, doc, output = run_qa(tmp_path, cache, *ARGS, "-v",  # -q -v: a line per stage
                               f"--dask-scheduler={address}")
    assert doc is not None, output[-3000:]
    assert code == 1, output[-3000:]
    assert verdicts(doc) == verdicts(ref)
    assert_built_once(doc, cache)
    for name in DATASETS:  # each task's stages, written when its result came back
        stages = re.findall(rf"^{re.escape(name)}: +\d+\.\d s  (.+)$", output, re.M)
        assert stages[:2] == ["preparing inputs", "TweakReg (3 images)"], output[-3000:]
        if doc["datasets"][name]["stopped"] is None:
            assert stages[-1] == "AstroDrizzle (Final Drizzle)", stages
            assert re.search(rf"^{re.escape(name)}: finished in \d+\.\d s \(", output, re.M)
        else:  # the alignment gate stopped it: no AstroDrizzle stage
            assert stages[-2:] == [
                "alignment checks",
                f"stopped: the alignment failed ({doc['datasets'][name]['stopped']})"], stages
            assert not any(s.startswith("AstroDrizzle") for s in stages), stages
            assert re.search(rf"^{re.escape(name)}: stopped after TweakReg \(the alignment "
                             rf"failed\) in \d+\.\d s \(", output, re.M), output[-3000:]
    for name in DATASETS:  # the pipelines ran in the cluster's worker processes
        assert builder_pid(doc, name) in worker_pids, doc["datasets"][name]["notes"]
        assert doc["datasets"][name]["notes"]["dask worker"].startswith("tcp://127.0.0.1:")


def test_dask_task_errors_are_the_datasets_error_verdicts(local_cluster, tmp_path):
    """A dataset that fails on the cluster (here: its input directory does not exist)
    is reported like a local failure: every check ``error`` with the reason."""
    address, _ = local_cluster
    manifest = tmp_path / "datasets.toml"
    manifest.write_text(f'[datasets.gone]\nsource = "local"\n'
                        f'local = {{ path = "{tmp_path / "no-such-dir"}" }}\n')
    code, doc, output = run_qa(tmp_path, tmp_path / "cache", f"--qa-manifest={manifest}",
                               "--dataset", "gone", f"--dask-scheduler={address}",
                               html=False)
    assert doc is not None, output[-3000:]
    assert code == 1
    ds = doc["datasets"]["gone"]
    assert ds["verdict"] == "error" and "no-such-dir" in ds["error"], ds
    assert ds["error"].startswith("preparing inputs:")
    assert all(r["status"] == "error" for r in doc["results"])
    assert "no-such-dir" in output


def test_unreachable_scheduler_is_every_datasets_error(monkeypatch, tmp_path):
    from hst_align_qa.fixtures.backends import dask_cluster as cluster
    from hst_align_qa.fixtures.config.datasets import load_manifest

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)
    dataset = load_manifest(Path(__file__).parents[1] / "qa/datasets.toml").get(
        "synthetic-small")
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pipelines = cluster.DaskPipelines(f"tcp://127.0.0.1:{port}", [dataset], tmp_path)
    run = pipelines.run("synthetic-small")
    pipelines.close()
    assert run.products is None
    assert run.error.startswith(f"cannot reach the Dask scheduler tcp://127.0.0.1:{port}")


def test_products_the_client_cannot_see_are_an_error(tmp_path):
    """A worker that wrote to its own disk (cache not shared): a clear error, no parse."""
    from hst_align_qa.fixtures.backends.dask_cluster import DaskPipelines

    pipelines = object.__new__(DaskPipelines)  # only the check, no cluster
    pipelines.address, pipelines.cache_root = "tcp://10.0.0.5:8786", tmp_path
    inputs = tmp_path / "in.fits"
    inputs.write_bytes(b"x")
    built = BuiltDataset(name="d", inputs=PreparedInputs(files=(inputs,), origin="test"),
                         directory=tmp_path / "products" / "abc", key="abc",
                         notes={"dask worker": "tcp://10.0.0.7:4001"})
    seen = pipelines._visible(built)
    assert seen.directory is None
    assert str(tmp_path / "products" / "abc") in seen.error
    assert "tcp://10.0.0.7:4001" in seen.error and "shared" in seen.error
    # Once the entry is there (a shared filesystem), the same result is used as is.
    DirectoryCache(tmp_path, "products").get_or_build("abc", lambda d: {})
    assert pipelines._visible(built) is built


def test_a_task_that_raises_is_the_datasets_error(monkeypatch, tmp_path):
    """An exception inside the task (not a data problem) reaches the run as its error."""
    from distributed import LocalCluster

    from hst_align_qa.fixtures.backends import dask_cluster as cluster
    from hst_align_qa.fixtures.config.datasets import load_manifest

    def boom(*args, **kwargs):
        raise RuntimeError("worker environment broken")

    monkeypatch.setattr(cluster, "build_dataset", boom)  # seen by in-process workers
    dataset = load_manifest(Path(__file__).parents[1] / "qa/datasets.toml").get(
        "synthetic-small")
    with LocalCluster(n_workers=1, processes=False, protocol="tcp://", host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as local:
        pipelines = cluster.DaskPipelines(local.scheduler_address, [dataset], tmp_path)
        run = pipelines.run("synthetic-small")
        pipelines.close()
    assert run.products is None
    assert run.error == (f"pipeline task on the Dask cluster {local.scheduler_address} "
                         "failed: RuntimeError: worker environment broken")


def test_dask_and_xdist_do_not_combine(tmp_path):
    code, doc, output = run_qa(tmp_path, tmp_path / "cache", "-n", "2",
                               "--dask-scheduler=tcp://127.0.0.1:1", html=False)
    assert code == 4 and doc is None
    assert "--dask-scheduler and pytest-xdist's -n do not combine" in output
