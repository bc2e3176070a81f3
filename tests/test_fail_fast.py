"""Fail fast (issue 25): after TweakReg the alignment checks are judged; when one fails
or errs, AstroDrizzle does not run (``--qa-drizzle=on-pass``, the default), the
combination checks say "not run: the alignment failed (...)", and the cache remembers
the stopped run; ``--qa-drizzle=always`` completes it from the cached TweakReg products.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from qa_process import run_qa

from hst_align_qa.checks.products import Products
from hst_align_qa.checks.registry import check, discover
from hst_align_qa.checks.result import CheckResult, Status
from hst_align_qa.checks.stages import (ALIGNMENT, COMBINATION, alignment_checks,
                                        alignment_failure, alignment_only, stage_of)
from hst_align_qa.fixtures.config.datasets import ManifestError, load_manifest
from hst_align_qa.fixtures.config.settings import Settings, drizzle_mode

NOT_RUN = "not run: the alignment failed ("
# The checks synthetic-nan fails on main before the gate (recorded at 0c40a60 with
# `pytest qa/ --dataset synthetic-nan`): every one but visit_registration is an alignment
# check; visit_registration measures the drizzled singles, which a stopped run has not.
NAN_FAILS_ON_MAIN = {"fit_rms", "match_counts", "pipeline_log", "shiftfile_nans",
                     "visit_registration"}


def _spec(**declared):
    @check("third_party", description="a test's check", **declared)
    def third_party(**kwargs):
        return iter(())
    return third_party.__qa_check__


# ---- staging from the declared products ---------------------------------------------

def test_project_checks_are_staged_by_what_they_read():
    stages = {spec.name: stage_of(spec) for spec in discover()}
    assert {n for n, s in stages.items() if s == COMBINATION} == {
        "absolute_astrometry", "visit_registration", "weight_imprint"}
    assert stages["pipeline_log"] == ALIGNMENT  # judges the TweakReg log after TweakReg
    assert [s.name for s in alignment_checks(discover())] == sorted(
        n for n, s in stages.items() if s == ALIGNMENT)


@pytest.mark.parametrize("declared, stage", [
    ({"needs": ("shiftfiles",)}, ALIGNMENT),
    ({"needs": ("inputs",), "optional": ("context",)}, ALIGNMENT),
    ({"needs": (), "optional": ("tweakreg_log", "drc")}, ALIGNMENT),
    ({"needs": ("drc",)}, COMBINATION),
    ({"needs": ("shiftfiles", "single")}, COMBINATION),
    ({"needs": (), "optional": ("single", "drizzle_log")}, COMBINATION),
])
def test_a_third_party_check_is_staged_by_its_spec_alone(declared, stage):
    assert stage_of(_spec(**declared)) == stage


def _result(check_name, subject, status):
    return CheckResult(dataset="ds", check=check_name, subject=subject, status=status,
                       observed=None, unit="", threshold={}, message="")


def test_alignment_failure_names_failing_checks_and_subjects():
    assert alignment_failure([_result("fit_rms", "a", Status.PASS),
                              _result("fit_rms", "b", Status.WARN)]) is None
    reason = alignment_failure([
        _result("shiftfile_nans", "shifts.txt:b", Status.FAIL),
        _result("fit_rms", "b", Status.ERROR), _result("fit_rms", "c", Status.FAIL),
        _result("fit_rms", "d", Status.FAIL), _result("pipeline_log", "ds", Status.FAIL),
        _result("images_aligned", "d", Status.PASS)])
    assert reason == ("fit_rms on b, c and 1 more, pipeline_log, "
                      "shiftfile_nans on shifts.txt:b")


def test_alignment_only_drops_what_astrodrizzle_wrote():
    products = Products(drc=object(), single=(object(),), drizzle_log=object(),
                        shiftfiles=(object(),), tweakreg_log=object(),
                        unreadable={"drizzle_log": "a.log: cut", "fit_matches": "m: bad"})
    kept = alignment_only(products)
    assert kept.drc is None and kept.single == () and kept.drizzle_log is None
    assert kept.shiftfiles == products.shiftfiles and kept.tweakreg_log is products.tweakreg_log
    assert dict(kept.unreadable) == {"fit_matches": "m: bad"}


# ---- the setting --------------------------------------------------------------------

def _settings(drizzle=None, drizzle_from=None):
    return Settings(datasets=(), manifest=Path("m.toml"), thresholds=None,
                    cache_dir=Path("c"), qa_json=None, strict=False, products_dir=(),
                    input_dir=None, baseline=None, timeout=1.0, download_dir=Path("d"),
                    mast_server=None, remote=False, drizzle=drizzle,
                    drizzle_from=drizzle_from)


def test_drizzle_mode_command_line_then_manifest_then_ini_then_default():
    assert drizzle_mode(_settings(), None) == ("on-pass", "default")
    assert drizzle_mode(_settings("always", "ini qa_drizzle"), None) == (
        "always", "ini qa_drizzle")
    assert drizzle_mode(_settings("always", "ini qa_drizzle"), "on-pass") == (
        "on-pass", "manifest")
    assert drizzle_mode(_settings("on-pass", "--qa-drizzle"), "always") == (
        "on-pass", "--qa-drizzle")


def test_drizzle_option_and_manifest_key_are_checked(pytester, tmp_path):
    pytester.makepyfile(test_probe="""
        from hst_align_qa.fixtures.config.settings import resolve
        def test_it(request):
            s = resolve(request.config)
            print("DRIZZLE", s.drizzle, s.drizzle_from)
    """)
    out = pytester.runpytest("-s", "-p", "no:cacheprovider", "--qa-drizzle=always")
    assert "DRIZZLE always --qa-drizzle" in out.stdout.str()
    pytester.makeini("[pytest]\nqa_drizzle = on-pass\n")
    out = pytester.runpytest("-s", "-p", "no:cacheprovider")
    assert "DRIZZLE on-pass ini qa_drizzle" in out.stdout.str()
    out = pytester.runpytest("-s", "-p", "no:cacheprovider", "--qa-drizzle=sometimes")
    assert out.ret != 0
    assert "--qa-drizzle: expected one of always, on-pass, got 'sometimes'" in (
        out.stdout.str() + out.stderr.str())
    manifest = tmp_path / "m.toml"
    manifest.write_text('[datasets.x]\nsource = "synthetic"\ndrizzle = "never"\n')
    with pytest.raises(ManifestError, match=r"m.toml: dataset 'x': drizzle must be one of"):
        load_manifest(manifest)
    manifest.write_text('[datasets.x]\nsource = "synthetic"\ndrizzle = "always"\n')
    assert load_manifest(manifest).get("x").drizzle == "always"


# ---- end to end: the real pipeline on small synthetic data ---------------------------

def _by_check(doc, dataset):
    out: dict[str, set[str]] = {}
    for r in doc["results"]:
        if r["dataset"] == dataset:
            out.setdefault(r["status"], set()).add(r["check"])
    return out


def _entry(doc, dataset) -> tuple[Path, dict]:
    path = Path(doc["datasets"][dataset]["products"])
    return path, json.loads((path / "qa-entry.json").read_text())


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("failfast") / "cache"


def test_failed_alignment_stops_then_always_completes_from_the_cache(cache, tmp_path):
    # cold, on-pass: TweakReg, the gate, no AstroDrizzle
    code, doc, out = run_qa(tmp_path / "cold", cache, "--dataset", "synthetic-nan",
                            html=False)
    assert code == 1 and doc is not None, out[-3000:]
    ds = doc["datasets"]["synthetic-nan"]
    assert ds["drizzle"] == "on-pass (default)" and ds["reused"] is False
    assert _by_check(doc, "synthetic-nan")["fail"] == NAN_FAILS_ON_MAIN - {
        "visit_registration"}
    not_run = {r["check"]: r["message"] for r in doc["results"]
               if r["message"].startswith(NOT_RUN)}
    assert set(not_run) == {"absolute_astrometry", "visit_registration", "weight_imprint"}
    assert all(m == f"{NOT_RUN}{ds['stopped']})" for m in not_run.values())
    assert "fit_rms on shifts.txt:jsyn03a1q_flc.fits" in ds["stopped"]
    assert "shiftfile_nans on shifts.txt:jsyn03a1q_flc.fits" in ds["stopped"]
    products, record = _entry(doc, "synthetic-nan")
    assert not list(products.glob("*_dr[cz].fits")) and not list(
        products.glob("*_single_sci.fits")) and not (products / "astrodrizzle.log").exists()
    assert "astrodrizzle" not in record["timings"] and "tweakreg" in record["timings"]
    assert record["stopped"] == ds["stopped"] == record["alignment_failed"]

    # warm, on-pass: the stopped run is reused as it is
    code, warm, out = run_qa(tmp_path / "warm", cache, "--dataset", "synthetic-nan",
                             html=False)
    assert code == 1 and warm["datasets"]["synthetic-nan"]["reused"] is True, out[-3000:]
    assert warm["datasets"]["synthetic-nan"]["stopped"] == ds["stopped"]
    assert {(r["check"], r["subject"], r["status"]) for r in warm["results"]} == {
        (r["check"], r["subject"], r["status"]) for r in doc["results"]}

    # always: AstroDrizzle on the cached TweakReg products; every check runs
    code, full, out = run_qa(tmp_path / "always", cache, "--dataset", "synthetic-nan",
                             "--qa-drizzle=always", html=False)
    assert code == 1 and full is not None, out[-3000:]
    fds = full["datasets"]["synthetic-nan"]
    assert fds["drizzle"] == "always (--qa-drizzle)" and fds["stopped"] is None
    assert _by_check(full, "synthetic-nan")["fail"] == NAN_FAILS_ON_MAIN
    assert not any(r["message"].startswith(NOT_RUN) for r in full["results"])
    products, completed = _entry(full, "synthetic-nan")
    assert list(products.glob("final_dr[cz].fits")) and "stopped" not in completed
    assert completed["completed"].startswith("AstroDrizzle on the TweakReg products")
    assert completed["timings"]["tweakreg"] == record["timings"]["tweakreg"]  # not redone
    assert "astrodrizzle" in completed["timings"]
    assert not (products / "aligned-inputs").exists()

    # on-pass again: the drizzled products are in the cache, not judged: as a cold run
    code, again, out = run_qa(tmp_path / "again", cache, "--dataset", "synthetic-nan",
                              html=False)
    assert code == 1 and again["datasets"]["synthetic-nan"]["reused"] is True
    assert again["datasets"]["synthetic-nan"]["stopped"] == ds["stopped"]
    assert {(r["check"], r["status"]) for r in again["results"]} == {
        (r["check"], r["status"]) for r in doc["results"]}


THIRD_PARTY = '''
from hst_align_qa.checks.registry import check
from hst_align_qa.checks.result import Measurement


@check("any_shift", needs=("shiftfiles",), description="an image moved at all", unit="pix")
def any_shift(shiftfiles):
    for sf in shiftfiles:
        for row in sf.rows:
            yield Measurement(f"{sf.name}:{row.image}", max(abs(row.xsh), abs(row.ysh)),
                              message=f"shift of {row.image}")
'''


def test_a_third_party_alignment_check_gates_astrodrizzle(cache, tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "extgate").mkdir(parents=True)
    (site / "extgate" / "__init__.py").write_text(THIRD_PARTY)
    info = site / "extgate-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: extgate\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[hst_align_qa.checks]\nany_shift = extgate:any_shift\n")
    monkeypatch.setenv("PYTHONPATH", str(site))
    levels = tmp_path / "levels.toml"
    levels.write_text(textwrap.dedent("""
        [any_shift]
        unit = "pix"
        worse = "higher"
        warn = 0.0
        fail = 0.0
        note = "test levels: any shift fails"
    """))
    code, doc, out = run_qa(tmp_path, cache, "--dataset", "synthetic-small",
                            f"--thresholds={levels}", html=False)
    assert code == 1 and doc is not None, out[-3000:]
    ds = doc["datasets"]["synthetic-small"]
    assert ds["stopped"] is not None and ds["stopped"].startswith("any_shift on shifts.txt:")
    statuses = _by_check(doc, "synthetic-small")
    assert statuses["fail"] == {"any_shift"}  # the clean dataset's own checks pass
    assert {r["check"] for r in doc["results"] if r["message"].startswith(NOT_RUN)} == {
        "absolute_astrometry", "visit_registration", "weight_imprint"}
    products, _ = _entry(doc, "synthetic-small")
    assert not list(products.glob("*_dr[cz].fits"))


def test_a_stopped_entry_is_used_only_whole_and_only_while_it_should_stop(tmp_path):
    from hst_align_qa.fixtures.pipeline.runner import _all_products_present, _usable
    from hst_align_qa.fixtures.stores.cache import CacheEntry
    from hst_align_qa.fixtures.verdicts.gate import make_gate
    from hst_align_qa.checks.thresholds import ThresholdTable

    (tmp_path / "aligned-inputs").mkdir()
    (tmp_path / "shifts.txt").write_text("")
    entry = CacheEntry(key="k", path=tmp_path, reused=True, record={
        "products": ["shifts.txt"], "aligned_inputs": ["aligned-inputs/a_flc.fits"],
        "stopped": "fit_rms on a_flc.fits"})
    assert not _all_products_present(entry)  # an aligned copy is missing: rebuilt
    (tmp_path / "aligned-inputs" / "a_flc.fits").write_bytes(b"")
    assert _all_products_present(entry)
    always = make_gate("always", "--qa-drizzle", discover(), ThresholdTable.default())
    assert always.pauses and not always.stops
    # to be drizzled (always, or no gate): AstroDrizzle completes the stopped entry
    assert not _usable(entry, always, "d", None)
    assert not _usable(entry, None, "d", None)
    done = CacheEntry(key="k", path=tmp_path, reused=True, record={
        "products": ["shifts.txt"]})
    assert _usable(done, always, "d", None)
