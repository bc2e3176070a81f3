"""The machine outputs and the HTML evidence: schema-valid JSON, JUnit properties,
escaped header values. Runs the real plugin (pytester) in products mode on real data."""
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from hst_align_qa.checks.products import InputExposure, Products
from hst_align_qa.fixtures.report.evidence import inputs_table

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "fixtures" / "report" / "qa-result.schema.json").read_text())


@pytest.fixture
def qa_products_run(pytester, real_data):
    """`pytest qa/ --products-dir` on the real align_to_catalogs folder."""
    for name in ("test_checks.py", "test_pipeline.py"):
        pytester.path.joinpath(name).write_text((REPO / "qa" / name).read_text())
    folder = real_data / "tweakreg_runs" / "align_to_catalogs"
    out = pytester.path / "out"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--products-dir={folder}", f"--qa-json={out}/qa.json",
        f"--junitxml={out}/junit.xml", f"--html={out}/qa.html", "--self-contained-html")
    return result, out


def test_json_validates_and_junit_has_one_case_per_check(qa_products_run):
    result, out = qa_products_run
    doc = json.loads((out / "qa.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    assert set(doc["datasets"]) == {"align_to_catalogs"}
    by_check = {r["check"] for r in doc["results"]}
    assert {"fit_rms", "shiftfile_nans", "match_counts", "residual_correlation"} <= by_check
    # The SDSS fit (0.36-0.51 px) is an earlier attempt than the Gaia fit: the run
    # fails on the stale file and says so; fit_rms judges the Gaia fit only
    assert doc["datasets"]["align_to_catalogs"]["verdict"] == "fail"
    assert result.ret == 1
    tree = ET.parse(out / "junit.xml")
    cases = {c.get("name"): c for c in tree.iter("testcase")}
    check_cases = [n for n in cases if n.startswith("test_check[")]
    assert len(check_cases) == len(by_check | {"weight_imprint", "apriori_wcs"})
    props = {p.get("name"): p.get("value")
             for p in cases["test_check[align_to_catalogs-fit_rms]"].iter("property")}
    assert props["Gaia_shifts.txt:ibwb01xqq_flc.fits:status"] == "pass"
    assert 0.02 < float(props["Gaia_shifts.txt:ibwb01xqq_flc.fits:observed"]) < 0.03
    # the images are WFC3/UVIS (_flc of an i rootname, and their match files' input
    # scale), fitted to the external catalog gaia.cat (the log): the catalog-fit levels
    # in mas (drizzlepac's absolute fits), converted with the UVIS plate scale
    assert props["Gaia_shifts.txt:ibwb01xqq_flc.fits:threshold"] == (
        "warn 0.5051, fail 3.788 (warn 20 mas, fail 150 mas for WFC3/UVIS, a fit to an "
        "external catalog)")
    gaia = next(r for r in doc["results"] if r["subject"] == "Gaia_shifts.txt:ibwb01xqq_flc.fits")
    assert gaia["threshold"]["stated"]["plate_scale"] == 0.0396
    assert not any(k.startswith("SDSS") for k in props)
    stale = {p.get("name"): p.get("value") for p in
             cases["test_check[align_to_catalogs-stale_products]"].iter("property")}
    assert stale["SDSS_shifts.txt:status"] == "fail"


def test_json_schema_rejects_a_malformed_record(qa_products_run):
    _, out = qa_products_run
    doc = json.loads((out / "qa.json").read_text())
    doc["results"][0]["status"] = "okay"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)


def test_header_values_are_escaped():
    evil = InputExposure(
        name="x_flc.fits", rootname="x", asn_id="x", targname="<script>alert(1)</script>",
        instrument="ACS", detector="WFC", filter="F606W", exptime=1.0, ra_targ=0.0,
        dec_targ=0.0, date_obs="2006-01-01", postarg1=0.0, postarg2=0.0, orientat=0.0,
        wcsname="<b>x</b>", nmatches=None, rms_ra=1.0, rms_dec=1.0, pixel_scale=0.05)
    page = inputs_table(Products(inputs=(evil,)))
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_summary_lists_one_row_per_dataset_with_key_figures():
    from hst_align_qa.checks.result import CheckResult, Status
    from hst_align_qa.checks.registry import discover
    from hst_align_qa.fixtures.report.html import summary_html

    def r(dataset, check, subject, observed, status="pass", unit="pix"):
        return CheckResult(dataset=dataset, check=check, subject=subject,
                           status=Status(status), observed=observed, unit=unit,
                           threshold={}, message="")

    page = summary_html([
        r("a", "fit_rms", "s:1", 0.03), r("a", "fit_rms", "s:2", 0.04),
        r("a", "match_counts", "1", 300, unit=""), r("a", "match_counts", "2", 120, unit=""),
        r("<b>", "fit_rms", "s:1", 0.5, "fail"),
    ], discover())
    assert page.count('<tr class="qa-dataset">') == 2
    assert "<td>0.04 pix</td>" in page and "<td>120</td>" in page
    assert "&lt;b&gt;" in page and "<b>" not in page
    assert "FAIL" in page and "PASS" in page


def _result(dataset, status, check="fit_rms", subject="s"):
    from hst_align_qa.checks.result import CheckResult, Status
    return CheckResult(dataset=dataset, check=check, subject=subject,
                       status=Status(status), observed=None, unit="", threshold={},
                       message="why")


@pytest.mark.parametrize("statuses, verdict, label", [
    # checks that do not apply do not stop a pass; their count is shown beside it
    (["pass"] * 13 + ["skip"] * 5, "pass", "PASS [13 pass, 5 n/a]"),
    (["pass"], "pass", "PASS [1 pass]"),
    # any warning, failure or error is the verdict, n/a or not
    (["pass", "skip", "warn"], "warn", "WARN [1 pass, 1 n/a, 1 warn]"),
    (["pass", "warn", "fail"], "fail", "FAIL [1 pass, 1 warn, 1 fail]"),
    (["skip", "error", "fail"], "error", "ERROR [1 n/a, 1 fail, 1 error]"),
    # nothing judged: never a pass
    (["skip"] * 4, "skip", "SKIP [4 n/a]"),
])
def test_dataset_verdict_passes_with_checks_that_do_not_apply(statuses, verdict, label):
    from hst_align_qa.fixtures.report.html import summary_html
    from hst_align_qa.fixtures.report.summary import dataset_summary
    from hst_align_qa.fixtures.report.terminal import summary_lines

    results = [_result("d", s) for s in statuses]
    summary = dataset_summary(results)["d"]
    assert summary["verdict"] == verdict and summary["label"] == label
    assert summary_lines(results, {})[0] == f"d: {label}"
    page = summary_html(results, ())
    assert f">{verdict.upper()}</span>" in page
    assert f"<td>{label[label.index('[') + 1:-1]}</td>" in page


def test_a_dataset_with_no_results_never_passes():
    from hst_align_qa.fixtures.report.summary import dataset_verdict
    assert dataset_verdict([]).value == "skip"


def test_json_carries_the_label_and_validates(tmp_path):
    from hst_align_qa.fixtures.report.json import write_json

    write_json(tmp_path / "qa.json", [_result("d", "pass"), _result("d", "skip")], {})
    doc = json.loads((tmp_path / "qa.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    assert doc["datasets"]["d"]["verdict"] == "pass"
    assert doc["datasets"]["d"]["label"] == "PASS [1 pass, 1 n/a]"
    assert doc["datasets"]["d"]["counts"]["skip"] == 1
