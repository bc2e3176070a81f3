"""Progress while the pipeline works: each dataset's stages with elapsed seconds, through
the real `pytest qa/` (a child pytest process, a real TweakReg and AstroDrizzle) on the
small synthetic datasets.

Every run starts from an empty product cache holding the first run's generated inputs,
so only the pipeline is repeated.
"""
from __future__ import annotations

import json
import logging
import os
import pty
import re
import select
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from qa_process import REPO, qa_command, run_qa

from hst_align_qa.fixtures.pipeline.stages import (DrizzleStepHandler, StageLog,
                                                   StageReader, StageWriter)
from hst_align_qa.fixtures.report.progress import PAYLOAD

SMALL = "synthetic-small"
# a line per stage: "<dataset>:   12.3 s  <stage>"
STAGE_LINE = re.compile(r"^(?:\[gw\d\] )?(?P<ds>[\w.-]+): +(?P<t>\d+\.\d) s  (?P<stage>.+)$",
                        re.M)
SUMMARY = re.compile(r"^(?:\[gw\d\] )?(?P<ds>[\w.-]+): (?P<outcome>finished|cached products"
                     r"|products read from .+? \(nothing run\)) in (?P<t>\d+\.\d) s(?P<rest>.*)$",
                     re.M)


def cold(first_cache: Path, path: Path) -> Path:
    """An empty product cache with the first run's generated inputs."""
    shutil.copytree(first_cache / "inputs", path / "inputs")
    return path


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> tuple[str, Path]:
    """A cold run, not quiet (``-q -v``: normal verbosity), off a terminal."""
    tmp = tmp_path_factory.mktemp("first")
    code, doc, output = run_qa(tmp, tmp / "cache", "-v", html=False)
    assert code == 0 and doc is not None, output[-3000:]
    return output, tmp / "cache"


def stages_of(output: str, dataset: str) -> list[tuple[float, str]]:
    return [(float(m["t"]), m["stage"]) for m in STAGE_LINE.finditer(output)
            if m["ds"] == dataset]


def test_off_a_terminal_one_line_per_stage_with_elapsed_seconds(first):
    output, _ = first
    stages = stages_of(output, SMALL)
    names = [s for _, s in stages]
    assert names[:3] == ["preparing inputs", "TweakReg (3 images)", "alignment checks"], \
        output[-3000:]
    # drizzlepac's own steps, in its order, as they started
    assert names[3:] == [f"AstroDrizzle ({step})" for step in (
        "Initialization", "Static Mask", "Subtract Sky", "Separate Drizzle",
        "Create Median", "Blot", "Driz_CR", "Final Drizzle")], names
    seconds = [t for t, _ in stages]
    assert seconds == sorted(seconds) and seconds[-1] > seconds[1] > 0
    [summary] = [m for m in SUMMARY.finditer(output) if m["ds"] == SMALL]
    assert summary["outcome"] == "finished"
    assert float(summary["t"]) >= seconds[-1]
    spent = dict(re.findall(r"(preparing inputs|TweakReg|AstroDrizzle) (\d+\.\d) s",
                            summary["rest"]))
    assert set(spent) == {"preparing inputs", "TweakReg", "AstroDrizzle"}
    assert float(spent["AstroDrizzle"]) == pytest.approx(
        float(summary["t"]) - seconds[3], abs=0.15)
    # the verdicts' summary is as before
    assert re.search(r"hst-align-qa verdicts =+\n(.*\n)*synthetic-small: PASS", output)


def test_quiet_is_one_line_per_dataset_and_a_warm_run_says_cached(first, tmp_path):
    _, cache = first
    for outcome in ("finished", "cached products"):  # cold, then warm on the same cache
        code, doc, output = run_qa(tmp_path, cold(cache, tmp_path / "cache")
                                   if outcome == "finished" else tmp_path / "cache",
                                   html=False)
        assert code == 0 and doc is not None, output[-3000:]
        assert not stages_of(output, SMALL), output[-3000:]
        summaries = [m for m in SUMMARY.finditer(output) if m["ds"] == SMALL]
        assert [m["outcome"] for m in summaries] == [outcome], output[-3000:]


def test_products_directory_is_one_line(first, tmp_path):
    _, cache = first
    [products] = (cache / "products").iterdir()
    code, doc, output = run_qa(tmp_path, None, "-v", f"--products-dir={products}", html=False)
    assert doc is not None, output[-3000:]
    assert not stages_of(output, products.name)
    [summary] = [m for m in SUMMARY.finditer(output)]
    assert summary["outcome"].startswith(f"products read from {products}")


def run_in_pty(cmd: list[str], env: dict[str, str], timeout: float = 1800) -> str:
    """Run ``cmd`` with a pseudo-terminal as its stdin, stdout and stderr; its output."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, cwd=REPO, env={**env, "COLUMNS": "160"}, stdin=slave,
                            stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        if proc.poll() is None and time.monotonic() >= deadline:
            proc.kill()
        proc.wait()
    return b"".join(chunks).decode(errors="replace")


def test_on_a_terminal_a_live_line_names_tweakreg_and_astrodrizzle(first, tmp_path):
    _, cache = first
    cmd, env = qa_command(tmp_path, cold(cache, tmp_path / "cache"), html=False)
    output = run_in_pty(cmd, env)
    assert (tmp_path / "qa.json").is_file(), output[-3000:]
    # the status line, rewritten in place ("\r"): the stage, its seconds, the dataset's
    live = re.findall(r"\r(synthetic-small: (.+?) (\d+\.\d) s \((\d+\.\d) s in all\))",
                      output)
    seen = {stage for _, stage, _, _ in live}
    assert "TweakReg (3 images)" in seen, output[-3000:]
    assert "AstroDrizzle (Final Drizzle)" in seen, seen
    assert any(s.startswith("AstroDrizzle (") and float(t) > 0 for _, s, t, _ in live)
    totals = [float(total) for _, _, _, total in live]
    assert totals == sorted(totals)
    # left as the dataset's line, then the results as before
    assert re.search(r"\rsynthetic-small: finished in \d+\.\d s \(.*TweakReg \d+\.\d s, "
                     r"alignment checks \d+\.\d s, AstroDrizzle \d+\.\d s\)", output), \
        output[-3000:]
    assert "hst-align-qa verdicts" in output and "passed" in output


def test_xdist_workers_stages_reach_the_controller(first, tmp_path):
    _, cache = first
    junit = tmp_path / "junit.xml"
    code, doc, output = run_qa(
        tmp_path, cold(cache, tmp_path / "cache"), "-v", "-n", "2", "--dataset", SMALL,
        "--dataset", "synthetic-shift0.5", f"--junitxml={junit}")
    assert doc is not None, output[-3000:]
    for name in (SMALL, "synthetic-shift0.5"):
        lines = [m for m in STAGE_LINE.finditer(output) if m["ds"] == name]
        stages = [m["stage"] for m in lines]
        assert "TweakReg (3 images)" in stages and "AstroDrizzle (Final Drizzle)" in stages
        workers = {m.group(0).split("]")[0] for m in lines}
        assert len(workers) == 1 and next(iter(workers)).startswith("[gw"), workers
        [summary] = [m for m in SUMMARY.finditer(output) if m["ds"] == name]
        assert summary["outcome"] == "finished"
    # the report formats carry the verdicts, not the stages
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    # one test per dataset and check, and one test_products_available per dataset
    assert len(cases) == len({(r["dataset"], r["check"]) for r in doc["results"]}) + 2
    assert PAYLOAD not in junit.read_text()
    assert PAYLOAD not in json.dumps(doc)


def test_reader_passes_on_whole_lines_only(tmp_path):
    path = tmp_path / "stages.jsonl"
    reader = StageReader(path)
    assert reader.read() == []  # not written yet
    StageWriter(path).stage("TweakReg", "3 images")
    with path.open("a") as fh:
        fh.write('{"stage": "Astro')  # a line still being written
    assert [e["stage"] for e in reader.read()] == ["TweakReg"]
    with path.open("a") as fh:
        fh.write('Drizzle", "detail": "Blot", "time": 1.0}\n')
    assert reader.read() == [{"stage": "AstroDrizzle", "detail": "Blot", "time": 1.0}]
    assert reader.read() == []


def test_drizzle_step_lines_become_stages(tmp_path):
    writer = StageWriter(tmp_path / "stages.jsonl")
    handler = DrizzleStepHandler(writer)
    logger = logging.getLogger("test_progress.drizzlepac.util")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        # the lines drizzlepac 3.11's util.ProcSteps.addStep/endStep log
        logger.info("\n==== Processing Step 'Final Drizzle' started at 21:16:33.774 (06/12/2026)")
        logger.info("==== Processing Step 'Final Drizzle' finished at 21:16:36.071 (06/12/2026)")
        logger.info("==== Step 'Static Mask' was turned off at 21:16:36.071 (06/12/2026)")
    finally:
        logger.removeHandler(handler)
    events = StageReader(writer.path).read()
    assert [(e["stage"], e["detail"]) for e in events] == [("AstroDrizzle", "Final Drizzle")]


def test_stage_log_replays_its_times():
    log, into = StageLog(), StageLog()
    log.stage("a", "TweakReg", "2 images", at=10.0)
    log.finish("a", "finished")
    log.replay(into)
    assert into.calls[0] == ("stage", "a", "TweakReg", "2 images", 10.0)
    assert into.calls[1][:3] == ("finish", "a", "finished")
