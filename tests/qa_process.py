"""Run the real `pytest qa/` in a child process, as a user or CI would (shared by tests)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def qa_command(tmp_path: Path, cache_dir: Path | None, *args: str, html: bool = True,
               qa_json: Path | None = None) -> tuple[list[str], dict[str, str]]:
    """The ``pytest qa/`` command line and environment :func:`run_qa` uses (for tests
    that start the run themselves, e.g. to kill it)."""
    out_json = qa_json if qa_json is not None else tmp_path / "qa.json"
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    env.pop("PYTEST_ADDOPTS", None)
    cmd = [sys.executable, "-m", "pytest", "qa/", "-p", "no:cacheprovider", "-q",
           f"--qa-json={out_json}"]
    if cache_dir is not None:
        cmd.append(f"--qa-cache-dir={cache_dir}")
    if html:
        cmd += [f"--html={tmp_path / 'qa.html'}", "--self-contained-html"]
    return cmd + list(args), env


def run_qa(tmp_path: Path, cache_dir: Path | None, *args: str, html: bool = True,
           qa_json: Path | None = None, timeout: float = 1800) -> tuple[int, dict | None, str]:
    """Run ``pytest qa/`` with ``--qa-json`` (and ``--html``) into ``tmp_path``.

    Returns the exit code, the parsed JSON (``None`` if it was not written) and the
    combined output. When the JSON exists and ``html`` is set, the HTML must exist too.
    """
    out_json = qa_json if qa_json is not None else tmp_path / "qa.json"
    report = tmp_path / "qa.html"
    cmd, env = qa_command(tmp_path, cache_dir, *args, html=html, qa_json=qa_json)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    output = proc.stdout + proc.stderr
    doc = json.loads(out_json.read_text()) if out_json.is_file() else None
    if html and doc is not None:
        assert report.is_file() and report.stat().st_size > 10_000, output[-3000:]
    return proc.returncode, doc, output


def clean_inputs(cache_dir: Path) -> Path:
    """The cached input directory of the clean default dataset."""
    for entry in (cache_dir / "inputs").iterdir():
        record = entry / "qa-entry.json"
        if record.is_file() and json.loads(record.read_text())["spec"]["fault"] is None:
            return entry
    raise AssertionError(f"no clean synthetic inputs in {cache_dir}")
