"""End to end: `pytest qa/` on the embedded synthetic datasets, through a real pytest
process, a real TweakReg and a real AstroDrizzle.

The product cache is shared by the tests of this module (one pipeline run per dataset).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import qa_process
from astropy.table import Table

from hst_align_qa.checks.readers import read_shiftfile
from hst_align_qa.fixtures.stores.cache import file_digest



@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("qa-cache")


def run_qa(tmp_path: Path, cache_dir: Path, *args: str) -> tuple[int, dict, str]:
    """``pytest qa/`` in a child process; the JSON and HTML must be written."""
    code, doc, output = qa_process.run_qa(tmp_path, cache_dir, *args)
    assert doc is not None, output[-3000:]
    return code, doc, output


def statuses(doc: dict, check: str) -> set[str]:
    return {r["status"] for r in doc["results"] if r["check"] == check}


def test_default_dataset_passes_and_second_run_reuses_products(tmp_path, cache_dir):
    code, doc, output = run_qa(tmp_path, cache_dir)
    assert code == 0, output[-3000:]
    ds = doc["datasets"]["synthetic-small"]
    assert ds["verdict"] in ("pass", "warn") and ds["reused"] is False
    assert not any(r["status"] in ("fail", "error") for r in doc["results"])
    finding = ds["source_finding"]  # the threshold used and the sources it gave
    assert finding["mode"] == "fixed" and finding["threshold"] == 30.0
    assert sorted(finding["actual"]) == sorted(finding["estimated"])
    assert all(n > 100 for chips in finding["actual"].values() for n in chips.values())
    assert "TweakReg source finding: threshold 30" in (tmp_path / "qa.html").read_text()
    products = Path(ds["products"])
    drc = next(products.glob("*_dr[cz].fits"))
    before = (drc.stat().st_mtime_ns, file_digest(drc))
    inputs_dir = qa_process.clean_inputs(cache_dir)
    input_sums = {p.name: file_digest(p) for p in inputs_dir.glob("*_flc.fits")}

    code, doc2, output = run_qa(tmp_path, cache_dir)
    assert code == 0, output[-3000:]
    assert doc2["datasets"]["synthetic-small"]["reused"] is True
    assert (drc.stat().st_mtime_ns, file_digest(drc)) == before
    assert len(list((cache_dir / "products").iterdir())) == 1
    # The verdicts of the rerun are the same measurements (reused, fixtures/stores/memo.py).
    key = lambda r: (r["check"], r["subject"])  # noqa: E731
    assert sorted(doc["results"], key=key) == sorted(doc2["results"], key=key)
    # The inputs were only read.
    assert {p.name: file_digest(p) for p in inputs_dir.glob("*_flc.fits")} == input_sums


def test_tweakreg_recovers_injected_offsets(tmp_path, cache_dir):
    code, doc, output = run_qa(tmp_path, cache_dir)
    products = Path(doc["datasets"]["synthetic-small"]["products"])
    shifts = read_shiftfile(products / "shifts.txt")
    truth = Table.read(qa_process.clean_inputs(cache_dir) / "truth.ecsv", format="ascii.ecsv")
    expected = {row["image"]: row for row in truth}
    assert len(shifts.rows) == len(truth) == 3
    for row in shifts.rows:
        t = expected[row.image]
        assert abs(row.xsh - t["xsh"]) < 0.02, (row, t)
        assert abs(row.ysh - t["ysh"]) < 0.02, (row, t)
        assert np.isfinite([row.xrms, row.yrms]).all()


def test_misaligned_visit_fails_the_imprint_check(tmp_path, cache_dir):
    code, doc, output = run_qa(tmp_path, cache_dir, "--dataset", "synthetic-shift1")
    assert code != 0
    assert "fail" in statuses(doc, "weight_imprint"), output[-3000:]
    assert doc["datasets"]["synthetic-shift1"]["verdict"] == "fail"


def test_unmatched_visit_fails_nan_and_match_count_checks(tmp_path, cache_dir):
    code, doc, output = run_qa(tmp_path, cache_dir, "--dataset", "synthetic-nan")
    assert code != 0
    assert "fail" in statuses(doc, "shiftfile_nans"), output[-3000:]
    assert "fail" in statuses(doc, "match_counts"), output[-3000:]


def test_user_inputs_are_byte_identical_after_a_run(tmp_path):
    """TweakReg with updatehdr=True rewrites headers: it must only see copies."""
    from hst_align_qa.fixtures.sources.synthetic import SyntheticSpec, generate

    made = generate(SyntheticSpec(), tmp_path / "generated")  # no other test's cache
    user = tmp_path / "mydata"
    user.mkdir()
    for p in made.files:
        (user / p.name).write_bytes(p.read_bytes())
    sums = {p.name: file_digest(p) for p in user.iterdir()}
    fresh_cache = tmp_path / "fresh-cache"
    code, doc, output = run_qa(tmp_path, fresh_cache, "--input-dir", str(user))
    assert code == 0, output[-3000:]
    assert doc["datasets"]["mydata"]["reused"] is False  # named after the directory
    assert {p.name: file_digest(p) for p in user.iterdir()} == sums
