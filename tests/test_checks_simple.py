"""Simple checks: verdicts on real products, and unit tests with injected faults."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
from astropy.table import Table

from hst_align_qa.checks import readers
from hst_align_qa.checks.apriori_wcs import apriori_wcs
from hst_align_qa.checks.fit_rms import fit_rms
from hst_align_qa.checks.match_counts import match_counts
from hst_align_qa.checks.pipeline_log import pipeline_log
from hst_align_qa.checks.products import (Context, DrizzleLog, FitMatches, ImageFit, InputExposure,
                             LogLine, Products, ShiftFile, ShiftRow, TweakRegLog,
                             TweakRegRun)
from hst_align_qa.checks.registry import check, run_check, spec_of
from hst_align_qa.checks.result import Measurement, Status
from hst_align_qa.checks.shiftfile_nans import shiftfile_nans
from hst_align_qa.checks.thresholds import ThresholdTable

P, W, F = Status.PASS, Status.WARN, Status.FAIL


def judge(func, products: Products, **context):
    spec = spec_of(func)
    c = products.context
    table = ThresholdTable.default()
    levels = table.lookup(
        spec.name, instrument=context.get("instrument", c.instrument),
        detector=context.get("detector", c.detector), fitgeometry=c.fitgeometry)
    return {r.subject: r for r in run_check(spec, products, levels, "ds",
                                            table.levels_for(spec.name, c.fitgeometry))}


def statuses(results):
    return {k: r.status for k, r in results.items()}


def every_file(paths: readers.ProductPaths) -> Products:
    """The products of a folder with every shift and match file, the ones from earlier
    TweakReg attempts included: these tests judge the checks' levels on each real fit
    (which files are stale is tests/test_attempts.py's subject)."""
    products = readers.load_products(paths)
    return replace(products, stale=(),
                   shiftfiles=tuple(readers.read_shiftfile(p) for p in paths.shiftfiles),
                   fit_matches=tuple(readers.read_fit_matches(p) for p in paths.fit_matches))


@pytest.fixture(scope="module")
def real(real_data):
    base = real_data / "tweakreg_runs"
    return {name: every_file(readers.find_products(base / name))
            for name in ("align_sparse_fields", "align_mosaics", "align_to_catalogs")}


@pytest.fixture(scope="module")
def v311(data311):
    return {name: readers.load_products(readers.find_products(data311 / name))
            for name in ("good", "fail", "general")}


# --- verdicts on the real STScI notebook products ----------------------------------------

def test_fit_rms_sparse_fields(real):
    got = statuses(judge(fit_rms, real["align_sparse_fields"]))
    t = {"s0": "j8xi0xs0q_flc.fits", "s3": "j8xi0xs3q_flc.fits", "s6": "j8xi0xs6q_flc.fits",
         "ref": "j8xi0xsaq_flc.fits"}
    expected = {
        # test1: xrms 0.38-0.45 px, the notebook's poor fit
        "shift814_flc_test1.txt": {"ref": P, "s6": F, "s3": F, "s0": F},
        # test2: 0.095, 0.140 (yrms), 0.116 px: two images above the notebook's 0.1 px
        "shift814_flc_test2.txt": {"ref": P, "s6": W, "s3": F, "s0": F},
        # test3, the notebook's final choice: 0.086, 0.074, 0.082 px -> within 0.1 px
        "shift814_flc_test3.txt": {"ref": P, "s6": W, "s3": W, "s0": W},
    }
    assert got == {f"{sf}:{t[k]}": v for sf, rows in expected.items() for k, v in rows.items()}


def test_fit_rms_mosaics_and_catalogs(real):
    mosaic = judge(fit_rms, real["align_mosaics"])
    # F160W: 0.040-0.063 IR px = 5-8 mas, within the notebooks' 0.1 px (13 mas) "good"
    # for IR: pass (the ACS-derived 0.05 px warn used to flag half of them)
    assert {r.status for k, r in mosaic.items() if k.startswith("shift160")} == {P}
    # F657N UVIS tiles matched to the F160W mosaic: 0.08-0.21 px of that mosaic's
    # 0.08"/px frame (measured from each match file), i.e. 6-17 mas = 0.16-0.42 UVIS px
    # (the input scale, measured from the same files, says UVIS). A careful astronomer:
    # as good as an IR-resolution reference allows, within drizzlepac's 20 mas, not the
    # notebooks' "< 0.1 px good" for UVIS: warn on every tile, fail none.
    uvis = {k: r for k, r in mosaic.items() if k.startswith("shift657")}
    assert {r.status for r in uvis.values()} == {W}
    worst = uvis["shift657_flc.txt:ick906kwq_flc.fits"]
    assert worst.details["detector"] == "WFC3/UVIS"
    assert abs(worst.details["frame_scale_arcsec"] - 0.0800) < 1e-4
    assert abs(worst.observed - 0.206517 * 0.0800 / 0.0396) < 1e-3
    assert worst.threshold["stated"] == {"unit": "mas", "warn": 4.0, "fail": 20.0,
                                         "plate_scale": 0.0396, "detector": "WFC3/UVIS"}
    assert "16.5 mas" in worst.message
    cats = judge(fit_rms, real["align_to_catalogs"])
    assert {r.status for k, r in cats.items() if k.startswith("Gaia")} == {P}
    # SDSS: 0.36-0.51 UVIS px = 14.4-20.3 mas. The log says each image was matched with
    # the reference catalog 'sdss.cat': a fit to an external catalog, whose positions
    # are good to ~50-100 mas, judged as drizzlepac judges absolute fits (< 20 mas good,
    # > 150 mas rejected), not with UVIS image-to-image levels. The worst image (yrms
    # 0.513 px = 20.3 mas) is just beyond HAP's "good": warn; the others (19.9 and 18.0
    # mas) pass. The notebook moves on to Gaia because Gaia is better, not because the
    # SDSS fit failed.
    sdss = {k: r for k, r in cats.items() if k.startswith("SDSS")}
    assert {k: r.status for k, r in sdss.items()} == {
        "SDSS_shifts.txt:ibwb01xrq_flc.fits": W, "SDSS_shifts.txt:ibwb01xxq_flc.fits": P,
        "SDSS_shifts.txt:ibwb01xqq_flc.fits": P}
    worst = sdss["SDSS_shifts.txt:ibwb01xrq_flc.fits"]
    assert worst.details["reference"] == "sdss.cat"
    assert worst.details["reference_kind"] == "catalog"
    assert worst.threshold["stated"]["reference"] == "catalog"
    assert (worst.threshold["stated"]["warn"], worst.threshold["stated"]["fail"]) == (20, 150)
    assert "external catalog 'sdss.cat'" in worst.message


def test_no_nan_and_no_missing_rows_in_real_shift_files(real):
    for products in real.values():
        results = judge(shiftfile_nans, products)
        assert len(results) == sum(len(sf.rows) for sf in products.shiftfiles)
        assert {r.status for r in results.values()} == {P}


def test_match_counts_real(real):
    sparse = judge(match_counts, real["align_sparse_fields"])
    assert {k: r.observed for k, r in sparse.items()} == {
        "j8xi0xs0q_flc.fits": 37, "j8xi0xs3q_flc.fits": 36, "j8xi0xs6q_flc.fits": 42}
    assert {r.status for r in sparse.values()} == {P}
    assert sparse["j8xi0xs6q_flc.fits"].details["n_sources"] == 1469
    mosaic = statuses(judge(match_counts, real["align_mosaics"]))
    assert [k for k, s in mosaic.items() if s is W] == [
        "ick907o1q_flc.fits", "ick907ouq_flc.fits", "ick908ptq_flc.fits"]  # 21, 20, 24
    assert F not in mosaic.values()
    cats = judge(match_counts, real["align_to_catalogs"])  # general: fail < 25, warn < 50
    assert {r.status for r in cats.values()} == {P}
    assert "fail < 25" in cats["ibwb01xqq_flc.fits"].message


def test_pipeline_log_real(real):
    assert statuses(judge(pipeline_log, real["align_sparse_fields"])) == {
        "tweakreg.log": P, "f814w_driz.log": P}
    mosaic = judge(pipeline_log, real["align_mosaics"])
    assert statuses(mosaic) == {"tweakreg.log": F, "astrodrizzle.log": P}
    assert "line 746 [exception]" in mosaic["tweakreg.log"].message
    assert "KeyError" in mosaic["tweakreg.log"].message
    assert statuses(judge(pipeline_log, real["align_to_catalogs"])) == {
        "tweakreg.log": P, "astrodrizzle.log": P}


def test_apriori_wcs_real_headers(real_data):
    flc = readers.read_input_exposure(real_data / "headers/sample_flc_header.fits")
    svm = readers.read_input_exposure(real_data / "headers/sample_svm_flc.fits")
    acs = judge(apriori_wcs, Products(inputs=(flc,), context=Context("ACS", "WFC")))
    r = acs["sample_flc_header.fits"]
    # 15.3 mas (0.31 px at 0.05"/px): a fit to Gaia within drizzlepac's 20 mas "good",
    # judged on the sky like every catalog fit: pass
    assert r.observed == pytest.approx(15.2604, abs=1e-4)
    assert r.details["rms_pix"] == pytest.approx(15.2604 / 50, abs=1e-4)
    assert r.status is P and r.unit == "mas"
    uvis = judge(apriori_wcs, Products(inputs=(svm,), context=Context("WFC3", "UVIS")))
    assert uvis["sample_svm_flc.fits"].observed == pytest.approx(6.158, abs=1e-3)
    assert uvis["sample_svm_flc.fits"].status is P


# --- drizzlepac 3.11 products --------------------------------------------------------------

def test_311_failures_are_never_silent(v311):
    prods = v311["fail"]
    rms = judge(fit_rms, prods)
    bad = rms["shift_fail.txt:jtst02b3q_flc.fits"]
    assert bad.status is F and bad.observed is None and "Not measurable" in bad.message
    nans = judge(shiftfile_nans, prods)
    assert nans["shift_fail.txt:jtst02b3q_flc.fits"].observed == 4
    missing = nans["shift_fail.txt:jtst02b4q_flc.fits"]  # omitted: no row at all
    assert missing.status is F and "fewer than 15 sources" in missing.message
    counts = judge(match_counts, prods)
    assert statuses(counts) == {"jtst02b2q_flc.fits": P, "jtst02b3q_flc.fits": F,
                                "jtst02b4q_flc.fits": F}
    assert "Not enough matches (< 15)" in counts["jtst02b3q_flc.fits"].message
    assert counts["jtst02b2q_flc.fits"].details["matched_fraction"] == 1.0
    log = judge(pipeline_log, prods)["tweakreg.log"]
    assert log.status is F and log.observed == 3


def test_311_failures_are_never_silent_without_the_log(v311):
    """Without tweakreg.log, the shift file and source catalogues tell match_counts which
    images TweakReg could not align (a NaN row; no row at all)."""
    from dataclasses import replace

    prods = replace(v311["fail"], tweakreg_log=None)
    counts = judge(match_counts, prods)
    assert statuses(counts) == {"jtst02b2q_flc.fits": P, "jtst02b3q_flc.fits": F,
                                "jtst02b4q_flc.fits": F}
    assert "NaN in shift_fail.txt line 7" in counts["jtst02b3q_flc.fits"].message
    assert "no row in shift_fail.txt" in counts["jtst02b4q_flc.fits"].message
    # a fitted image without a match file cannot be counted: skipped, not dropped
    fitted = replace(prods, fit_matches=())
    assert statuses(judge(match_counts, fitted))["jtst02b2q_flc.fits"] is Status.SKIP


def test_311_and_real_subjects_do_not_change_without_the_log(v311, real):
    from dataclasses import replace

    for products in (*v311.values(), *real.values()):
        with_log = judge(match_counts, products)
        without = judge(match_counts, replace(products, tweakreg_log=None))
        assert set(without) == set(with_log)


def test_311_good_and_general_do_not_fail(v311):
    for name in ("good", "general"):
        for func in (fit_rms, shiftfile_nans, match_counts, pipeline_log):
            got = {r.status for r in judge(func, v311[name]).values()}
            assert got <= {P, W} and P in got, (name, func, got)


# --- unit tests: tiny inputs, injected faults -----------------------------------------------

def row(image, *values, line=5):
    return ShiftRow(image, *values, line=line)


def shiftfile(*rows, units="pixels"):
    return ShiftFile("s.txt", "/x/s.txt", "output", "ref", "delta", units, rows)


def test_fit_rms_reference_nan_units_and_mas():
    sf = shiftfile(row("a_flc.fits", 0, 0, 0, 1, 0, 0), row("b_flc.fits", 1, 2, 0, 1, .04, .12),
                   row("c_flc.fits", math.nan, math.nan, math.nan, math.nan, 0, 0, line=7))
    exp = InputExposure("b_flc.fits", "b", "", "", "ACS", "WFC", "F814W", 1, 0, 0, "", 0, 0, 0,
                        "", None, math.nan, math.nan, 0.05)
    got = {m.subject: m for m in fit_rms((sf,), (exp,))}
    assert got["s.txt:a_flc.fits"].status is P and "reference" in got["s.txt:a_flc.fits"].message
    assert got["s.txt:b_flc.fits"].value == 0.12
    assert got["s.txt:b_flc.fits"].details["yrms_mas"] == pytest.approx(6.0)
    assert math.isnan(got["s.txt:c_flc.fits"].value)  # NaN shifts with zero RMS still fail
    assert "line 7" in got["s.txt:c_flc.fits"].message
    (err,) = fit_rms((shiftfile(row("a", 1, 1, 0, 1, .1, .1), units="arcseconds"),))
    assert err.status is Status.ERROR


def test_shiftfile_nans_counts_fields():
    sf = shiftfile(row("a", 0.1, math.nan, 0, 1, .1, math.nan, line=9))
    (m,) = shiftfile_nans((sf,))
    assert m.value == 2 and "line 9" in m.message and "ysh, yrms" in m.message


def _fit(image, **kw):
    base = dict(n_matches=None, xrms=math.nan, yrms=math.nan, fitgeometry="rscale")
    return ImageFit(image, **{**base, **kw})


def _log(*fits, notable=(), runs=()):
    return TweakRegLog("/x/tweakreg.log", "3.x", "3.11.0", tuple(fits), tuple(notable),
                       tuple(runs))


def test_match_counts_from_files_log_and_failures():
    empty = FitMatches("e_flc.fits", "/x/e_flc_catalog_fit.match", {}, Table(names=["x_ref"]))
    log = _log(_fit("e_flc.fits", n_matches=0, n_sources=400),
               _fit("f_flc.fits", failed=True, reason="Not enough matches (< 15)", line=77),
               _fit("g_flc.fits", n_matches=30, n_sources=3000, line=90))
    got = {m.subject: m for m in match_counts((empty,), log, min_matched_fraction=0.05)}
    assert got["e_flc.fits"].value == 0
    assert got["f_flc.fits"].status is F and "line 77" in got["f_flc.fits"].message
    assert got["g_flc.fits"].value == 30 and "tweakreg.log line 90" in got["g_flc.fits"].message
    frac = got["g_flc.fits:matched_fraction"]
    assert frac.status is W and frac.value == pytest.approx(0.01)


def test_missing_shiftfile_row_found_through_the_log():
    sf = shiftfile(row("a", 0, 0, 0, 1, 0, 0))
    run = TweakRegRun(0, 3, "3.11.0", {}, ("a", "b"), shiftfile="s.txt", completed=True)
    log = _log(_fit("b", failed=True, reason="fewer than 15 sources: not aligned", line=40),
               runs=(run,))
    got = {m.subject: m for m in shiftfile_nans((sf,), log)}
    assert got["s.txt:b"].value == 6 and "log line 40" in got["s.txt:b"].message


def test_pipeline_log_warn_quotes_line():
    warn = LogLine("/x/astrodrizzle.log", 120, "warn", "sky-fallback",
                   'Reverting sky computation to "localmin" from "match')
    products = Products(drizzle_log=DrizzleLog("/x/astrodrizzle.log", "3.11.0", (warn,)))
    (r,) = judge(pipeline_log, products).values()
    assert r.status is W and "line 120 [sky-fallback]" in r.message and r.observed == 0


def test_apriori_wcs_non_fit_and_sentinel():
    exp = InputExposure("a_flt.fits", "a", "", "", "WFC3", "IR", "F160W", 1, 0, 0, "", 0, 0, 0,
                        "IDC_w3m18525i", None, math.nan, math.nan, 0.1283)
    (m,) = apriori_wcs((exp,))
    assert m.status is W and "distortion solution only" in m.message
    (m,) = apriori_wcs((replace(exp, wcsname="IDC_w3m18525i-FIT_REL_GAIAeDR3"),))
    assert m.status is W and "no fit RMS" in m.message
    (m,) = apriori_wcs((replace(exp, wcsname="IDC_x-FIT_IMG_GAIAeDR3", rms_ra=12.83,
                                rms_dec=6.4),))
    assert m.value == pytest.approx(12.83) and m.status is None
    assert m.details["rms_pix"] == pytest.approx(0.1)


def test_registry_optional_products():
    @check("opt", needs=(), optional=("tweakreg_log", "drizzle_log"), description="x")
    def opt(tweakreg_log=None, drizzle_log=None):
        yield Measurement("s", 0.0, f"{tweakreg_log is None} {drizzle_log is None}")

    levels = ThresholdTable.default().lookup("pipeline_log")
    (skip,) = run_check(spec_of(opt), Products(), levels, "ds")
    assert skip.status is Status.SKIP and "none of tweakreg_log, drizzle_log" in skip.message
    (r,) = run_check(spec_of(opt), Products(tweakreg_log=_log()), levels, "ds")
    assert r.message.startswith("False True")
