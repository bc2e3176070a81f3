"""The built wheel, installed alone in a fresh virtual environment, used from an empty
directory: what a user gets from ``pip install hst-align-qa``.

The wheel is built from a copy of this repository (``pip wheel --no-deps``) and installed
with ``--no-deps`` into a new ``venv``. Its dependencies (drizzlepac, astropy, pytest ...)
are not downloaded again: the fresh environment sees this test environment's installed
packages through a ``.pth`` file naming a directory of links to them, from which every
trace of this checkout's own (editable) install is left out. So ``hst_align_qa`` can be
imported from the wheel's files and nowhere else, and a file the wheel lacks fails here.
"""
from __future__ import annotations

import html as htmllib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_IGNORE = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info",
                                 "__pycache__", ".hypothesis", ".pytest_cache")


def _run(cmd, cwd: Path, env: dict[str, str], timeout: float = 900):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """``pip wheel --no-deps .`` on a copy of the repository (nothing written here)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"
    shutil.copytree(REPO, source, ignore=_IGNORE)
    env = {**os.environ, "PIP_NO_INPUT": "1"}
    code, out = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                      root / "dist", source], root, env)
    assert code == 0, out[-3000:]
    wheels = list((root / "dist").glob("hst_align_qa-*.whl"))
    assert len(wheels) == 1, out[-3000:]
    return wheels[0]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, wheel) -> dict[str, Path]:
    """A new venv holding the wheel; dependencies visible without this checkout."""
    root = tmp_path_factory.mktemp("fresh")
    venv = root / "venv"
    code, out = _run([sys.executable, "-m", "venv", venv], root, dict(os.environ))
    assert code == 0, out
    python = venv / "bin" / "python"
    code, out = _run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                      wheel], root, dict(os.environ))
    assert code == 0, out[-3000:]
    deps = root / "deps"  # links to this environment's packages, minus our own install
    deps.mkdir()
    ours = re.compile(r"^(__editable__.*hst_align_qa.*|hst_align_qa.*|"
                      r"__editable___hst_align_qa.*)$")
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not ours.match(entry.name) and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    site = Path(subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    (site / "zz_test_dependencies.pth").write_text(f"{deps}\n")
    home = root / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST", "VIRTUAL_ENV", "PYTHONPATH"))}
    env.update(HOME=str(home), PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    return {"root": root, "python": python, "bin": venv / "bin", "site": site,
            "env": env, "cache": root / "cache"}


def test_wheel_holds_one_namespace_every_module_and_data_file(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        dist = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        top_level = zf.read(f"{dist}/top_level.txt").decode().split()
        entry_points = zf.read(f"{dist}/entry_points.txt").decode()
    assert top_level == ["hst_align_qa"]
    assert all(n.startswith(("hst_align_qa/", dist + "/")) for n in names), sorted(names)
    for module in ("checks", "checks/readers", "checks/plots", "fixtures",
                   "fixtures/backends", "fixtures/config", "fixtures/pipeline",
                   "fixtures/report", "fixtures/sources", "fixtures/stores",
                   "fixtures/verdicts", "qa"):
        in_repo = {p.name for p in (REPO / module).glob("*.py")}
        in_wheel = {Path(n).name for n in names
                    if n.startswith(f"hst_align_qa/{module}/") and n.count("/") ==
                    module.count("/") + 2 and n.endswith(".py")}
        assert in_repo and in_repo == in_wheel, module
    for data in ("checks/thresholds.toml", "fixtures/config/profiles.toml",
                 "fixtures/report/qa-result.schema.json", "fixtures/data/mdriztab_offline.ecsv",
                 "fixtures/data/templates/sample_flc_header.fits", "qa/datasets.toml",
                 "qa/test_checks.py", "qa/test_pipeline.py"):
        assert f"hst_align_qa/{data}" in names, data
    assert re.search(r"\[pytest11\]\s*\nhst_align_qa = hst_align_qa\.fixtures\.plugin\n",
                     entry_points), entry_points
    assert "hst-align-qa = hst_align_qa.cli:main" in entry_points


def test_fresh_install_imports_from_the_wheel_only(fresh):
    code, out = _run([fresh["python"], "-c",
                      "import hst_align_qa.checks, hst_align_qa.fixtures.plugin as p; "
                      "print(hst_align_qa.checks.__file__); print(p.__file__)"],
                     fresh["root"], fresh["env"])
    assert code == 0, out
    for line in out.split():
        assert Path(line).is_relative_to(fresh["site"] / "hst_align_qa"), out
    # nothing generic was installed at the top level
    for generic in ("checks", "fixtures", "qa"):
        assert not (fresh["site"] / generic).exists()


def test_pyargs_suite_in_an_empty_directory_passes_with_a_report(fresh):
    """``pytest --pyargs hst_align_qa.qa`` with nothing from this repository: the
    embedded default dataset is generated from the packaged template and passes."""
    empty = fresh["root"] / "empty"
    empty.mkdir()
    code, out = _run([fresh["python"], "-m", "pytest", "--pyargs", "hst_align_qa.qa",
                      "--qa-json", "qa.json", "--html", "qa.html", "--self-contained-html",
                      f"--qa-cache-dir={fresh['cache']}"], empty, fresh["env"])
    assert code == 0, out[-4000:]
    doc = json.loads((empty / "qa.json").read_text())
    assert list(doc["datasets"]) == ["synthetic-small"]
    statuses = {r["check"]: r["status"] for r in doc["results"]}
    assert len(statuses) >= 8 and not {"fail", "error"} & set(statuses.values()), statuses
    html = (empty / "qa.html").read_text()
    # pytest-html 4 keeps the tests' extras (and the Environment) in a JSON blob
    blob = json.loads(htmllib.unescape(re.search(r'data-jsonblob="([^"]*)"', html)[1]))
    figures = [e for runs in blob["tests"].values() for r in runs for e in r["extras"]
               if e["format_type"] == "image"
               and e["content"].startswith("data:image/png;base64,iVBORw0KGgo")]
    assert len(figures) >= 4, len(figures)  # base64 of the PNG signature, above
    # pytest-html's Environment table names the versions that decide the products
    packages = blob["environment"]["Packages"]
    assert {"drizzlepac", "stwcs", "astropy", "numpy", "tweakwcs"} <= set(packages), packages
    assert sorted(p.name for p in empty.iterdir() if not p.name.startswith(".")) == [
        "qa.html", "qa.json"]


def test_console_script_judges_a_users_directory_and_manifest(fresh):
    """``hst-align-qa --input-dir DIR``: a dataset named after DIR, processed with the
    ACS/WFC profile; then the same exposures through a user's own manifest."""
    inputs = next(p for p in (fresh["cache"] / "inputs").iterdir()
                  if (p / "qa-entry.json").is_file())
    mine = fresh["root"] / "my_visits"
    mine.mkdir()
    for flc in inputs.glob("*_flc.fits"):
        shutil.copy2(flc, mine / flc.name)
    work = fresh["root"] / "work"
    work.mkdir()
    code, out = _run([fresh["bin"] / "hst-align-qa", "--input-dir", mine, "--qa-json",
                      "qa.json", f"--qa-cache-dir={fresh['cache']}"], work, fresh["env"])
    assert code == 0, out[-4000:]
    doc = json.loads((work / "qa.json").read_text())
    assert list(doc["datasets"]) == ["my_visits"]
    notes = doc["datasets"]["my_visits"]["notes"]
    assert notes["detector profile"].startswith("ACS/WFC (0.05 arcsec/px)")
    assert doc["datasets"]["my_visits"]["source_finding"]["mode"] == "auto"
    assert not {"fail", "error"} & {r["status"] for r in doc["results"]}

    manifest = work / "my.toml"
    manifest.write_text(f'default = ["mine"]\n[datasets.mine]\nsource = "local"\n'
                        f'local = {{ path = "{mine}" }}\n'
                        f'tweakreg = {{ searchrad = 12 }}\n')
    code, out = _run([fresh["bin"] / "hst-align-qa", "--qa-manifest", manifest,
                      "--qa-json", "mine.json", f"--qa-cache-dir={fresh['cache']}"],
                     work, fresh["env"])
    assert code == 0, out[-4000:]
    doc = json.loads((work / "mine.json").read_text())
    assert list(doc["datasets"]) == ["mine"]
    assert "searchrad=12 (manifest)" in doc["datasets"]["mine"]["notes"]["detector profile"]
