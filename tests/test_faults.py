"""Fault suite: broken inputs, products, manifests and paths through a real `pytest qa/`.

Every case runs the framework in a child process (like tests/test_qa_e2e.py) and asserts
that the run finishes with a JSON and an HTML report, that the affected dataset is
``error``/``fail`` with a one-line reason naming the file and the problem, that the exit
code is non-zero and that the inputs are byte-identical afterwards.

Input faults are rejected before the pipeline runs (fixtures/sources/validate.py), so
they cost one pytest start-up each; the only pipeline run is the module-scoped
three-dataset manifest run, whose cache the later cases reuse.
"""
from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
from qa_process import run_qa
from astropy.io import fits

from hst_align_qa.fixtures.stores.cache import file_digest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "tweakreg_3.11"
DEFAULT = "synthetic-small"  # the manifest's default dataset (its parameters are reused)


# ---------------------------------------------------------------------------- helpers

def sums(directory: Path) -> dict[str, str]:
    return {p.name: file_digest(p) for p in sorted(directory.iterdir()) if p.is_file()}


def copy_inputs(src: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for p in sorted(src.glob("*_flc.fits")):
        shutil.copyfile(p, dest / p.name)
    return dest


def results_of(doc: dict, dataset: str) -> list[dict]:
    return [r for r in doc["results"] if r["dataset"] == dataset]


# ---------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def synthetic_inputs(tmp_path_factory) -> Path:
    from hst_align_qa.fixtures.sources.synthetic import SyntheticSpec, generate

    out = tmp_path_factory.mktemp("synthetic")
    generate(SyntheticSpec(), out)
    return out


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("qa-cache")


# ------------------------------------------------------------- 1. broken --input-dir

SECOND = "jsyn02a1q_flc.fits"  # the exposure each fault damages


def _truncate(d: Path) -> str:
    p = d / SECOND
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return SECOND


def _zero_bytes(d: Path) -> str:
    (d / SECOND).write_bytes(b"")
    return SECOND


def _text(d: Path) -> str:
    (d / "x_flc.fits").write_text("this is not a FITS file\n")
    return "x_flc.fits"


def _update(d: Path, edit) -> str:
    with fits.open(d / SECOND, mode="update") as hdul:
        edit(hdul)
    return SECOND


def _drop_sci(d: Path) -> str:
    p = d / SECOND
    # deleted from the opened file, not rebuilt from copies: HDU.copy() loses the data of
    # the headerlet (HDRLET) extensions real _flc files carry
    with fits.open(p, memmap=False) as hdul:
        del hdul[hdul.index_of(("SCI", 2))]
        hdul.writeto(p.with_suffix(".tmp"))
    p.with_suffix(".tmp").replace(p)
    return SECOND


def _all_nan(d: Path) -> str:
    def edit(h):
        h["SCI", 1].data[:] = np.nan
    return _update(d, edit)


def _all_zero(d: Path) -> str:
    def edit(h):
        h["SCI", 2].data[:] = 0
    return _update(d, edit)


def _no_wcs(d: Path) -> str:
    def edit(h):
        for hdu in h:
            if hdu.name == "SCI":
                for key in list(hdu.header):
                    if key.startswith(("CD1_", "CD2_", "CRPIX", "CRVAL", "CTYPE")):
                        del hdu.header[key]
    return _update(d, edit)


def _wfc3_ir(d: Path) -> str:
    def edit(h):
        h[0].header["INSTRUME"] = "WFC3"
        h[0].header["DETECTOR"] = "IR"
    return _update(d, edit)


def _no_instrument(d: Path) -> str:
    def edit(h):
        del h[0].header["INSTRUME"]
    return _update(d, edit)


def _ground_based(d: Path) -> str:
    # the Palomar 48-inch's TELESCOP/INSTRUME (tests/data/real/headers/ptf_p48_header.fits)
    def edit(h):
        h[0].header["TELESCOP"] = "P48"
        h[0].header["INSTRUME"] = "PTF/MOSAIC"
    return _update(d, edit)


def _single(d: Path) -> str:
    for p in sorted(d.glob("*_flc.fits"))[1:]:
        p.unlink()
    return "jsyn01a1q_flc.fits"


INPUT_FAULTS = {
    "truncated": (_truncate, "truncated FITS file"),
    "zero-bytes": (_zero_bytes, "empty file (0 bytes)"),
    "text-not-fits": (_text, "not a readable FITS file"),
    "missing-sci": (_drop_sci, "missing SCI extension (SCI,2)"),
    "all-nan-chip": (_all_nan, "SCI,1 is all NaN/Inf"),
    "all-zero-chip": (_all_zero, "SCI,2 is all zero"),
    "no-wcs": (_no_wcs, "no celestial WCS"),
    "wfc3-ir-in-acs": (_wfc3_ir, "WFC3/IR differs from ACS/WFC"),
    "no-instrume": (_no_instrument, "primary header has no INSTRUME/DETECTOR"),
    "single-exposure": (_single, "only 1 exposure(s)"),
    "ground-based": (_ground_based, "is not HST data (TELESCOP 'P48'"),
}


@pytest.mark.parametrize("fault", list(INPUT_FAULTS))
def test_broken_input_is_an_error_naming_the_file(tmp_path, synthetic_inputs, fault):
    mutate, problem = INPUT_FAULTS[fault]
    user = copy_inputs(synthetic_inputs, tmp_path / "in")
    name = mutate(user)
    before = sums(user)
    code, doc, output = run_qa(tmp_path, tmp_path / "cache", "--input-dir", str(user))
    assert doc is not None, output[-3000:]
    assert code != 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    ds = doc["datasets"][user.name]  # --input-dir: named after the directory
    assert ds["verdict"] == "error", ds
    assert ds["error"] == f"preparing inputs: {name}: " + ds["error"].split(f"{name}: ", 1)[1]
    assert problem in ds["error"] and "\n" not in ds["error"], ds["error"]
    results = results_of(doc, user.name)
    assert results and all(r["status"] == "error" for r in results)
    assert all(name in r["message"] and problem in r["message"] for r in results)
    # one-line reason in the terminal output, through test_products_available
    assert any(f"{name}: " in line and problem in line for line in output.splitlines())
    # rejected before the pipeline: nothing was built
    assert not (tmp_path / "cache" / "products").exists()
    assert sums(user) == before


# ------------------------------------------------------- 6. bad manifests: usage error

GOOD_DATASET = '[datasets.a]\nsource = "synthetic"\nsynthetic = { seed = 1 }\n'
BAD_MANIFESTS = {
    "typo-top-key": (GOOD_DATASET + 'tweekreg = { searchrad = 5 }\n', "tweekreg"),
    "typo-tweakreg-key": ('[datasets.a]\nsource = "synthetic"\n'
                          'tweakreg = { serchrad = 5 }\n', "serchrad"),
    "wrong-type": ('[datasets.a]\nsource = "synthetic"\ntweakreg = 5\n', "tweakreg"),
    "wrong-default-type": ('default = 5\n' + GOOD_DATASET, "default"),
    "dotdot-name": ('[datasets."../evil"]\nsource = "synthetic"\n', "../evil"),
    "shell-name": ('[datasets."a;rm -rf x"]\nsource = "synthetic"\n', "a;rm -rf x"),
    "dotdot-obs-id": ('[datasets.a]\nsource = "mast"\nmast = { obs_ids = ["../etc/x"] }\n',
                      "../etc/x"),
    "shell-obs-id": ('[datasets.a]\nsource = "mast"\nmast = { obs_ids = ["$(id)abcd"] }\n',
                     "$(id)abcd"),
}


@pytest.mark.parametrize("case", list(BAD_MANIFESTS))
def test_bad_manifest_is_a_one_line_usage_error(tmp_path, case):
    text, key = BAD_MANIFESTS[case]
    manifest = tmp_path / "bad.toml"
    manifest.write_text(text)
    code, doc, output = run_qa(tmp_path, tmp_path / "cache", "--qa-manifest", str(manifest),
                               html=False)
    assert code == pytest.ExitCode.USAGE_ERROR, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    errors = [line for line in output.splitlines() if "ERROR: " in line]
    assert len(errors) == 1, output[-3000:]
    assert str(manifest) in errors[0] and key in errors[0], errors[0]


# ------------------------------------------------- 3. readers: damaged products dirs

def _products(tmp_path: Path, name: str) -> Path:
    dest = tmp_path / name
    shutil.copytree(DATA / "good", dest)
    return dest


def _outcomes(junit: Path) -> dict[str, str]:
    """test id -> outcome (passed/failed/skipped) from a JUnit XML file."""
    import xml.etree.ElementTree as ET

    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = {child.tag for child in case} & {"failure", "error", "skipped"}
        out[case.get("name")] = {"failure": "failed", "error": "failed",
                                 "skipped": "skipped"}.get(next(iter(kinds), ""), "passed")
    return out


@pytest.mark.parametrize("source, removed", [
    ("good", ("tweakreg.log",)), ("good", ("tweakreg.log", "astrodrizzle.log")),
    ("fail", ("tweakreg.log",))])
def test_products_dir_missing_log_every_check_has_a_verdict(tmp_path, source, removed):
    """Each registered check reports at least one result and its test's outcome is the
    verdict of those results; the checks that need only the log are skipped with the
    reason, the others are judged; images TweakReg could not align still fail."""
    from hst_align_qa.checks.registry import discover

    d = tmp_path / "nolog"
    shutil.copytree(DATA / source, d)
    for name in removed:
        (d / name).unlink()
    before = sums(d)
    junit = tmp_path / "junit.xml"
    code, doc, output = run_qa(tmp_path, None, "--products-dir", str(d),
                               f"--junitxml={junit}")
    assert doc is not None and "Traceback" not in output, output[-3000:]
    assert doc["datasets"]["nolog"]["error"] is None
    results = results_of(doc, "nolog")
    by_check = {c.name: [r for r in results if r["check"] == c.name] for c in discover()}
    assert all(by_check.values()), {c: len(v) for c, v in by_check.items()}
    outcomes = _outcomes(junit)
    for check, rs in by_check.items():
        statuses = {r["status"] for r in rs}
        expected = ("failed" if statuses & {"fail", "error"} else
                    "skipped" if statuses == {"skip"} else "passed")
        assert outcomes[f"test_check[nolog-{check}]"] == expected, (check, rs)
    log = by_check["pipeline_log"]
    if "astrodrizzle.log" in removed or source == "fail":  # fail/ has no drizzle log
        assert [r["status"] for r in log] == ["skip"]
        assert "none of tweakreg_log, drizzle_log" in log[0]["message"]
    else:
        assert [(r["subject"], r["status"]) for r in log] == [("astrodrizzle.log", "pass")]
    counts = {r["subject"]: r["status"] for r in by_check["match_counts"]}
    if source == "good":
        assert {r["status"] for r in by_check["fit_rms"]} <= {"pass", "warn"}
        assert {r["status"] for r in by_check["shiftfile_nans"]} == {"pass"}
        assert set(counts.values()) == {"pass"}, counts
    else:  # one NaN row, one image left out of the shift file: never silently absent
        assert counts == {"jtst02b2q_flc.fits": "pass", "jtst02b3q_flc.fits": "fail",
                          "jtst02b4q_flc.fits": "fail"}, counts
        assert code != 0
    assert sums(d) == before


CORRUPT_SHIFTFILES = {
    "random-bytes": (lambda: np.random.default_rng(0).bytes(3000), "shift_good.txt line "),
    "bad-row": (lambda: (DATA / "good" / "shift_good.txt").read_bytes().replace(
        b"jtst01a2q_flc.fits", b"jtst01a2q_flc.fits 1.0", 1), "shift_good.txt line 6: "
        "expected 7 columns"),
    "not-a-number": (lambda: (DATA / "good" / "shift_good.txt").read_bytes().replace(
        b"\njtst01a3q_flc.fits    ", b"\njtst01a3q_flc.fits    x", 1),
        "is not a number"),
}


@pytest.mark.parametrize("case", list(CORRUPT_SHIFTFILES))
def test_products_dir_corrupt_shiftfile_is_an_error_naming_it(tmp_path, case):
    """A damaged shift file is not ignored: the checks that need it are ``error`` with the
    file and the problem (and test_products_available fails naming it); the checks
    that do not need it judge the rest; a good products directory in the same run is
    judged as usual."""
    content, problem = CORRUPT_SHIFTFILES[case]
    bad = _products(tmp_path, "garbage")
    (bad / "shift_good.txt").write_bytes(content())
    good = _products(tmp_path, "fine")
    before = {d.name: sums(d) for d in (bad, good)}
    code, doc, output = run_qa(tmp_path, None, "--products-dir", str(bad),
                               "--products-dir", str(good))
    assert doc is not None and "Traceback" not in output, output[-3000:]
    assert code != 0
    ds = doc["datasets"]["garbage"]
    assert ds["verdict"] == "error", ds
    nans = [r for r in results_of(doc, "garbage") if r["check"] == "shiftfile_nans"]
    assert [r["status"] for r in nans] == ["error"]
    assert nans[0]["message"].startswith("cannot read shift_good.txt ")
    assert problem in nans[0]["message"] and "\n" not in nans[0]["message"]
    # the log is readable: pipeline_log judges it, fit_rms measures from it
    others = {r["check"]: r for r in results_of(doc, "garbage")}
    assert others["pipeline_log"]["status"] == "pass"
    assert "from the TweakReg log" in others["fit_rms"]["message"]
    assert any("cannot read shift_good.txt " in line and problem in line
               for line in output.splitlines()), output[-3000:]
    fine = doc["datasets"]["fine"]
    assert fine["error"] is None
    assert {r["check"] for r in results_of(doc, "fine") if r["status"] != "skip"} >= {
        "fit_rms", "shiftfile_nans", "match_counts", "pipeline_log"}
    assert {d.name: sums(d) for d in (bad, good)} == before


def test_unwritable_json_path_is_one_clear_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a regular file")
    target = blocker / "sub" / "qa.json"
    code, doc, output = run_qa(tmp_path, None, "--products-dir", str(DATA / "good"),
                               html=True, qa_json=target)
    assert code != 0 and doc is None
    assert "Traceback" not in output, output[-3000:]
    assert f"ERROR: hst-align-qa: cannot write --qa-json {target}: " in output, output[-2000:]
    assert (tmp_path / "qa.html").is_file()  # the HTML report is still written


@pytest.mark.parametrize("where", ["under-a-file", "a-directory"])
def test_unwritable_html_path_is_one_clear_line_before_the_run(tmp_path, where):
    blocker = tmp_path / "file"
    blocker.write_text("a regular file")
    target = blocker / "sub" / "qa.html" if where == "under-a-file" else tmp_path
    cmd_html = [f"--html={target}", "--self-contained-html"]
    code, doc, output = run_qa(tmp_path, tmp_path / "cache", *cmd_html, html=False)
    assert code == pytest.ExitCode.USAGE_ERROR, output[-3000:]
    assert doc is None and "Traceback" not in output and "INTERNALERROR" not in output
    errors = [line for line in output.splitlines() if "ERROR: " in line]
    assert len(errors) == 1, output[-3000:]
    assert f"cannot write --html {target}: " in errors[0], errors[0]
    assert not (tmp_path / "cache").exists()  # refused before any work


# ------------------------ 2 + 5. one broken dataset of three; a half-written cache entry

def _inline(table: dict) -> str:
    return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in table.items()) + " }"


@pytest.fixture(scope="module")
def three_datasets(tmp_path_factory, synthetic_inputs, cache_dir):
    """One run of a manifest with two good copies and one truncated copy.

    Before the run, a killed run's leftovers are planted under the good inputs' key: a
    ``.tmp-<key>-<pid>-<n>`` directory with a partial ``final_drc.fits`` and a final
    directory without its record. Neither may be reused.
    """
    from hst_align_qa.fixtures.pipeline import request as pipeline
    from hst_align_qa.fixtures.config.datasets import load_manifest
    from hst_align_qa.fixtures.config.profiles import apply_profile, profile_for
    from hst_align_qa.fixtures.pipeline.runner import pipeline_key
    from hst_align_qa.fixtures.sources.local import local_inputs

    tmp = tmp_path_factory.mktemp("three")
    good1 = copy_inputs(synthetic_inputs, tmp / "good1")
    good2 = copy_inputs(synthetic_inputs, tmp / "good2")
    broken = copy_inputs(synthetic_inputs, tmp / "broken")
    _truncate(broken)
    ref = tomllib.loads((REPO / "qa" / "datasets.toml").read_text())
    params = ref["datasets"][DEFAULT]
    lines = ['default = ["good-1", "good-2", "broken"]']
    for name, where in (("good-1", good1), ("good-2", good2), ("broken", broken)):
        lines += [f'[datasets.{name}]', 'source = "local"', "mdriztab = false",
                  f'local = {{ path = {json.dumps(str(where))} }}']
        lines += [f"{k} = {_inline(params[k])}" for k in
                  ("imagefind", "tweakreg", "astrodrizzle")]
    manifest = tmp / "three.toml"
    manifest.write_text("\n".join(lines) + "\n")

    # as the runner does: the detector profile under the entry's own parameters
    ds, _ = apply_profile(load_manifest(manifest).get("good-1"),
                          profile_for("ACS", "WFC", "test"))
    inputs = local_inputs(good1)
    request = pipeline.PipelineRequest(
        inputs=tuple(str(p) for p in inputs.files), tweakreg=ds.tweakreg,
        imagefind=ds.imagefind, astrodrizzle=ds.astrodrizzle)
    key = pipeline_key(inputs, request)
    stale = cache_dir / "products" / f".tmp-{key}-99999-1"
    stale.mkdir(parents=True)
    (stale / "final_drc.fits").write_bytes(b"SIMPLE  =                    T" + b"\0" * 100)
    half = cache_dir / "products" / key  # renamed but record never written
    half.mkdir()
    (half / "final_drc.fits").write_bytes(b"partial")

    before = {d.name: sums(d) for d in (good1, good2, broken)}
    code, doc, output = run_qa(tmp, cache_dir, "--qa-manifest", str(manifest))
    after = {d.name: sums(d) for d in (good1, good2, broken)}
    return {"code": code, "doc": doc, "output": output, "before": before,
            "after": after, "key": key, "stale": stale, "tmp": tmp, "good": good1}


def test_one_broken_dataset_of_three(three_datasets):
    run = three_datasets
    doc, output = run["doc"], run["output"]
    assert doc is not None, output[-3000:]
    assert run["code"] != 0
    assert "Traceback" not in output, output[-3000:]
    for name in ("good-1", "good-2"):
        ds = doc["datasets"][name]
        assert ds["error"] is None and ds["verdict"] in ("pass", "warn"), (name, ds)
        assert not any(r["status"] == "error" for r in results_of(doc, name))
    bad = doc["datasets"]["broken"]
    assert bad["verdict"] == "error"
    assert bad["error"].startswith(f"preparing inputs: {SECOND}: truncated FITS file")
    assert run["before"] == run["after"]


def test_half_written_cache_entry_is_not_reused(three_datasets, cache_dir):
    doc = three_datasets["doc"]
    assert doc["datasets"]["good-1"]["reused"] is False
    assert not three_datasets["stale"].exists()  # swept by the builder
    entry = cache_dir / "products" / three_datasets["key"]
    assert (entry / "qa-entry.json").is_file()
    drc = next(entry.glob("*_drc.fits"))
    assert drc.stat().st_size > 100_000
    assert Path(doc["datasets"]["good-1"]["products"]) == entry


def test_read_only_inputs_run_and_stay_unchanged(tmp_path, three_datasets, cache_dir):
    """Permissions may not bite as root; the run must still work and change nothing."""
    user = copy_inputs(three_datasets["good"], tmp_path / "ro")
    before = sums(user)
    for p in user.iterdir():
        p.chmod(0o444)
    user.chmod(0o555)
    try:
        code, doc, output = run_qa(tmp_path, cache_dir, "--input-dir", str(user))
    finally:
        user.chmod(0o755)
    assert doc is not None, output[-3000:]
    assert code == 0, output[-3000:]
    ds = doc["datasets"][user.name]  # --input-dir: named after the directory
    assert ds["error"] is None and ds["verdict"] in ("pass", "warn")
    assert ds["notes"]["detector profile"].startswith("ACS/WFC")
    assert sums(user) == before


# ------------------------------------- 4. pipeline faults: TweakReg and AstroDrizzle fail

@pytest.fixture(scope="module")
def pipeline_faults(tmp_path_factory, synthetic_inputs, cache_dir):
    """One run of five datasets: a good one, one whose AstroDrizzle raises mid-way (a
    ``driz_cr_snr`` that passes manifest validation but which drizzlepac's CR step cannot
    parse, after TweakReg, sky, separate drizzling and the median succeeded), one with no
    source above the detection threshold, one whose last visit TweakReg cannot fit (NaN
    row) and one whose last visit does not overlap the others.
    """
    from hst_align_qa.fixtures.sources.synthetic import SyntheticSpec, generate

    tmp = tmp_path_factory.mktemp("pipeline-faults")
    user = copy_inputs(synthetic_inputs, tmp / "in")
    dirs = {"in": user}
    for fault in ("nan", "nooverlap"):
        generate(SyntheticSpec(fault=fault), tmp / f"gen-{fault}")
        dirs[fault] = copy_inputs(tmp / f"gen-{fault}", tmp / fault)
    ref = tomllib.loads((REPO / "qa" / "datasets.toml").read_text())["datasets"][DEFAULT]
    tables = {k: ref[k] for k in ("imagefind", "tweakreg", "astrodrizzle")}
    names = ["good", "ad-raises", "no-sources", "tweakreg-nans", "no-overlap"]
    lines = [f"default = {json.dumps(names)}"]

    def entry(name, where, changes=None):
        out = [f"[datasets.{name}]", 'source = "local"',
               f"local = {{ path = {json.dumps(str(where))} }}"]
        for key, table in tables.items():
            out.append(f"{key} = {_inline({**table, **(changes or {}).get(key, {})})}")
        return out

    lines += entry("good", user)
    lines += entry("ad-raises", user, {"astrodrizzle": {"driz_cr_snr": "abc def"}})
    lines += entry("no-sources", user, {"imagefind": {"threshold": 1.0e6}})
    lines += entry("tweakreg-nans", dirs["nan"])
    lines += entry("no-overlap", dirs["nooverlap"])
    manifest = tmp / "faults.toml"
    manifest.write_text("\n".join(lines) + "\n")
    before = {k: sums(d) for k, d in dirs.items()}
    code, doc, output = run_qa(tmp, cache_dir, "--qa-manifest", str(manifest))
    return {"code": code, "doc": doc, "output": output, "before": before,
            "after": {k: sums(d) for k, d in dirs.items()}}


def _pipeline_error(run: dict, dataset: str, *parts: str) -> str:
    doc, output = run["doc"], run["output"]
    assert doc is not None, output[-3000:]
    assert run["code"] != 0 and "Traceback" not in output, output[-3000:]
    ds = doc["datasets"][dataset]
    assert ds["verdict"] == "error", ds
    error = ds["error"]
    assert "\n" not in error and all(p in error for p in parts), error
    results = results_of(doc, dataset)
    assert results and all(r["status"] == "error" and r["message"] == f"no products: {error}"
                           for r in results)
    assert any(error in line for line in output.splitlines())  # test_products_available
    assert run["before"] == run["after"]
    return error


def test_astrodrizzle_raising_midway_is_an_error_naming_it(pipeline_faults, cache_dir):
    error = _pipeline_error(pipeline_faults, "ad-raises", "astrodrizzle failed: ValueError: ",
                            "'abc'", "(in drizCR.py:")
    assert error.startswith("astrodrizzle failed: "), error  # TweakReg succeeded
    # nothing half-written was published for it
    assert all((p / "qa-entry.json").is_file() for p in (cache_dir / "products").iterdir()
               if not p.name.startswith(".")), list((cache_dir / "products").iterdir())
    assert not list((cache_dir / "products").glob(".tmp-*"))
    doc = pipeline_faults["doc"]
    good = doc["datasets"]["good"]
    assert good["error"] is None and good["verdict"] in ("pass", "warn"), good


def test_no_source_above_threshold_is_an_error_naming_it(pipeline_faults):
    _pipeline_error(pipeline_faults, "no-sources", "tweakreg failed: ",
                    'tweakreg.log line ', 'No objects found for this image. Please check '
                    'value of "threshold"')


LAST_VISIT = "jsyn03a1q_flc.fits"  # the visit the nan/nooverlap faults damage


@pytest.mark.parametrize("dataset", ["tweakreg-nans", "no-overlap"])
def test_unfitted_visit_fails_naming_image_and_line(pipeline_faults, dataset):
    """TweakReg writes NaN for (or leaves out) the visit it cannot fit: the shift-file
    and match-count checks fail, naming the image and the shift-file line."""
    run = pipeline_faults
    doc, output = run["doc"], run["output"]
    assert doc is not None and "Traceback" not in output, output[-3000:]
    assert run["code"] != 0
    ds = doc["datasets"][dataset]
    assert ds["error"] is None and ds["verdict"] == "fail", ds
    results = results_of(doc, dataset)
    failed = {r["check"]: r for r in results if r["status"] == "fail"}
    assert {"shiftfile_nans", "match_counts"} <= set(failed), failed
    nan = failed["shiftfile_nans"]
    assert nan["subject"] == f"shifts.txt:{LAST_VISIT}", nan
    assert LAST_VISIT in nan["message"] and "\n" not in nan["message"], nan
    assert "line" in nan["message"], nan
    assert LAST_VISIT in failed["match_counts"]["message"], failed["match_counts"]
    # the other visits are judged as usual
    others = [r for r in results if r["check"] == "shiftfile_nans" and r is not nan]
    assert others and all(r["status"] == "pass" for r in others), others
    assert run["before"] == run["after"]
