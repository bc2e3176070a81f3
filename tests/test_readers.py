"""Readers on real STScI products (2019 TweakReg 1.4.7, drizzlepac 3.11) and real headers."""
from __future__ import annotations

import math
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from hst_align_qa.checks import readers
from hst_align_qa.checks.readers import ProductReadError

FOLDERS = ("align_sparse_fields", "align_mosaics", "align_to_catalogs")


@pytest.fixture(scope="module")
def runs(real_data):
    return real_data / "tweakreg_runs"


# --- shift files ------------------------------------------------------------------------

def test_shiftfile_rows_header_and_line_numbers(runs):
    sf = readers.read_shiftfile(runs / "align_sparse_fields/shift814_flc_test1.txt")
    assert (sf.name, sf.frame, sf.refimage, sf.form, sf.units) == (
        "shift814_flc_test1.txt", "output", "shifts_wcs.fits[wcs]", "delta", "pixels")
    assert [r.image for r in sf.rows] == ["j8xi0xsaq_flc.fits", "j8xi0xs6q_flc.fits",
                                          "j8xi0xs3q_flc.fits", "j8xi0xs0q_flc.fits"]
    assert [r.line for r in sf.rows] == [5, 6, 7, 8]
    s6 = sf.rows[1]
    # rot as written: 359.999005, wrapped to (-180, 180]
    assert (s6.xsh, s6.ysh, s6.rot, s6.scale, s6.xrms, s6.yrms) == pytest.approx((
        -0.108336, -0.300866, -0.000995, 0.999918, 0.379775, 0.389195), abs=1e-12)


@pytest.mark.parametrize("folder, expected", [
    ("align_sparse_fields", {"shift814_flc_test1.txt": 4, "shift814_flc_test2.txt": 4,
                             "shift814_flc_test3.txt": 4}),
    ("align_mosaics", {"shift160_flt.txt": 8, "shift657_flc.txt": 12}),
    ("align_to_catalogs", {"Gaia_shifts.txt": 3, "SDSS_shifts.txt": 3}),
])
def test_every_real_shiftfile_is_found_by_content_and_parses(runs, folder, expected):
    paths = readers.find_products(runs / folder)
    found = {p.rsplit("/", 1)[-1]: readers.read_shiftfile(p) for p in paths.shiftfiles}
    assert {k: len(v.rows) for k, v in found.items()} == expected  # not skyfile.txt
    for sf in found.values():
        assert all(math.isfinite(getattr(r, f)) for r in sf.rows
                   for f in ("xsh", "ysh", "rot", "scale", "xrms", "yrms"))


def test_nan_row_of_drizzlepac_311(data311):
    sf = readers.read_shiftfile(data311 / "fail/shift_fail.txt")
    bad = sf.rows[-1]
    assert bad.image == "jtst02b3q_flc.fits" and bad.line == 7
    assert all(math.isnan(v) for v in (bad.xsh, bad.ysh, bad.rot, bad.scale))
    assert (bad.xrms, bad.yrms) == (0.0, 0.0)  # 3.11 writes zero RMS for a failed fit


@pytest.mark.parametrize("text, problem", [
    ("# frame: output\na.fits 1 2 3\n", "x.txt line 2: expected 7 columns"),
    ("a.fits 1 2 3 4 5 6\n\n\nb.fits 1 2 x 4 5 6\n", "x.txt line 4 column 4 (rot): 'x'"),
    ("", "x.txt is not a shift file"),
    ("just some words\n", "x.txt line 1: expected 7 columns"),
    ("a.fits 1 2 3 4 5 1_0\n", "is not a number"),
])
def test_shiftfile_faults_name_file_and_line(tmp_path, text, problem):
    path = tmp_path / "x.txt"
    path.write_text(text)
    with pytest.raises(ProductReadError) as err:
        readers.read_shiftfile(path)
    assert problem in str(err.value) and "\n" not in str(err.value)
    assert isinstance(err.value, ValueError) and err.value.path == str(path)


def test_missing_file_is_a_product_read_error(tmp_path):
    with pytest.raises(ProductReadError, match="nope.txt cannot be read"):
        readers.read_shiftfile(tmp_path / "nope.txt")


# --- fit match files --------------------------------------------------------------------

def test_fit_match_header_and_table(runs):
    fm = readers.read_fit_matches(runs / "align_sparse_fields/j8xi0xs0q_flc_catalog_fit.match")
    assert fm.image == "j8xi0xs0q_flc.fits"
    # the angles as written, 359.9994651, wrapped to (-180, 180]
    assert fm.header == pytest.approx(
        {"xrms": 0.076, "yrms": 0.082, "xsh": 0.1048, "ysh": -0.3954,
         "xscale": 0.9999710436, "yscale": 0.9999710436, "xrot": -0.0005349,
         "yrot": -0.0005349, "rot": -0.0005349, "skew": 0.0}, abs=1e-10)
    t = fm.table
    assert len(t) == 37 and len(t.colnames) == 18
    assert t["x_ref"].unit == u.pix and t["ra"].unit == u.deg and t["chip"].unit is None
    assert t["ref_source"][0] == "j8xi0xsaq_flc.fits[1]"
    assert set(t["chip"]) <= {1, 2} and t["in_id"].dtype.kind == "i"
    assert t["dx"][0] == pytest.approx(0.057469)
    with pytest.raises(ValueError):
        t["dx"][0] = 1.0  # read-only


def test_every_real_fit_match_parses_and_agrees_with_the_log(runs):
    for folder in FOLDERS:
        paths = readers.find_products(runs / folder)
        latest = readers.read_tweakreg_log(paths.tweakreg_logs[0]).latest_fits()
        for path in paths.fit_matches:
            fm = readers.read_fit_matches(path)
            assert len(fm.table) > 0
            fit = latest.get(fm.image)
            if fit is not None:  # the F657N run of align_mosaics crashed: not in the log
                assert len(fm.table) == fit.n_matches, path


def test_empty_fit_match_file_gives_empty_table(tmp_path, runs):
    src = (runs / "align_sparse_fields/j8xi0xs0q_flc_catalog_fit.match").read_text()
    path = tmp_path / "x_flc_catalog_fit.match"
    path.write_text("".join(l + "\n" for l in src.splitlines() if l.startswith("#")))
    fm = readers.read_fit_matches(path)
    assert len(fm.table) == 0 and len(fm.table.colnames) == 18
    assert fm.table["ra"].unit == u.deg and fm.header["xrms"] == 0.076


def test_fit_match_with_a_missing_column_is_rejected(tmp_path, runs):
    lines = (runs / "align_sparse_fields/j8xi0xs0q_flc_catalog_fit.match").read_text()
    lines = lines.splitlines()
    lines[30] = " ".join(lines[30].split()[:17])
    (tmp_path / "y.match").write_text("\n".join(lines))
    with pytest.raises(ProductReadError, match=r"y.match line 31: expected 18 columns, got 17"):
        readers.read_fit_matches(tmp_path / "y.match")


# --- TweakReg logs ----------------------------------------------------------------------

def test_tweakreg_2019_sparse_fields_runs_and_fits(runs):
    log = readers.read_tweakreg_log(runs / "align_sparse_fields/tweakreg.log")
    # a TweakReg 1.4.7 banner (run in Dec 2019) over drizzlepac 3's "FIT XRMS:" lines: the
    # lines decide the format, not the banner (tests/test_log_formats.py)
    assert (log.format, log.version) == ("3.x", "1.4.7")
    assert [r.shiftfile for r in log.runs] == ["shift814_flc_test1.txt",
                                               "shift814_flc_test2.txt",
                                               "shift814_flc_test3.txt", ""]
    assert all(r.fitgeometry == "rscale" and r.completed for r in log.runs)
    assert log.runs[0].images[0] == "j8xi0xsaq_flc.fits" and len(log.runs[0].images) == 4
    first = log.fits[0]
    assert (first.image, first.run, first.n_matches, first.xrms, first.yrms) == (
        "j8xi0xs6q_flc.fits", 0, 106, 0.38, 0.39)
    assert (first.rmse, first.mae, first.xsh, first.ysh, first.scale) == (
        0.54, 0.46, -0.1083, -0.3009, 0.999918)
    assert first.n_sources == 12194 and first.reference == "j8xi0xsaq_flc.fits"
    assert first.extra["initial_significance"] == 18.52 and first.extra["n_xyxymatch"] == 106
    assert log.notable == ()  # VerifyWarning noise about HIERARCH cards is not notable
    assert len(log.fits) == 12 and not any(f.failed for f in log.fits)


def test_tweakreg_2019_crash_and_fallback_are_notable(runs):
    log = readers.read_tweakreg_log(runs / "align_mosaics/tweakreg.log")
    kinds = {(n.line, n.level, n.kind) for n in log.notable}
    assert kinds == {(260, "warn", "2dhist-edge"), (746, "fail", "exception")}
    crash = [n for n in log.notable if n.kind == "exception"][0]
    assert "KeyError: \"Extension ('', 1) not found.\"" in crash.text
    assert log.runs[1].images[0] == "ick905k5q_flc.fits" and not log.runs[1].shiftfile


def test_tweakreg_2019_general_fit_terms(runs):
    log = readers.read_tweakreg_log(runs / "align_to_catalogs/tweakreg.log")
    assert log.fitgeometry == "general"
    sdss = log.fits[0]
    # logged: "<ROT>: 180.0026895  SKEW: -359.9937629  ROT_X: 359.9995709  ROT_Y:
    # 0.005808002503": the mean and difference of unwrapped axis rotations. Wrapped, the
    # fit rotates by 0.00269 deg (as PROPER ROT says) with a skew of 0.00624 deg.
    assert (sdss.reference, sdss.rot, sdss.scale) == ("sdss.cat", 0.002689473574,
                                                       1.00007296)
    assert sdss.skew == pytest.approx(0.0062371025, abs=1e-9)
    assert sdss.extra["ROT"] == pytest.approx(0.0026894513, abs=1e-9)
    assert sdss.extra["ROT_X"] == pytest.approx(-0.0004291, abs=1e-9)
    assert sdss.extra["ROT_Y"] == 0.005808002503 and sdss.extra["SCALE_Y"] == 1.000120561
    assert sdss.extra["RMS_RA_deg"] == 8.8e-06


def test_tweakreg_311_good_matches_its_shift_file(data311):
    log = readers.read_tweakreg_log(data311 / "good/tweakreg.log")
    sf = readers.read_shiftfile(data311 / "good/shift_good.txt")
    assert (log.format, log.version, log.fitgeometry) == ("3.x", "3.11.0", "rscale")
    rows = {r.image: r for r in sf.rows}
    for fit in log.fits:
        row = rows[fit.image]
        assert fit.xsh == pytest.approx(row.xsh, abs=1e-4)
        assert fit.xrms == pytest.approx(row.xrms, abs=0.005)
        assert fit.n_matches == 80 and fit.n_sources == 80 and not fit.failed
    assert log.notable == ()


def test_tweakreg_311_failures(data311):
    log = readers.read_tweakreg_log(data311 / "fail/tweakreg.log")
    latest = log.latest_fits()
    assert latest["jtst02b3q_flc.fits"].failed
    assert latest["jtst02b3q_flc.fits"].reason == "Not enough matches (< 15)"
    assert latest["jtst02b4q_flc.fits"].reason == "fewer than 15 sources: not aligned"
    assert latest["jtst02b4q_flc.fits"].n_sources == 12
    assert not latest["jtst02b2q_flc.fits"].failed
    assert [(n.level, n.kind) for n in log.notable] == [
        ("fail", "too-few-sources"), ("warn", "initial-shift-fallback"),
        ("fail", "not-enough-matches"), ("fail", "not-enough-matches")]
    assert len(log.fits) == 3  # the warning box logged twice is one attempt


def test_tweakreg_311_general(data311):
    log = readers.read_tweakreg_log(data311 / "general/tweakreg.log")
    fit = log.fits[0]
    assert fit.fitgeometry == "general" and math.isfinite(fit.skew)
    assert {"ROT_X", "ROT_Y", "SCALE_X", "SCALE_Y"} <= set(fit.extra)


def test_legacy_two_line_initial_shift_and_plain_xrms(tmp_path, runs):
    """Older TweakReg: 'XRMS: a  YRMS: b' and the initial shift split over two lines."""
    text = (runs / "align_sparse_fields/tweakreg.log").read_text()
    text = text.replace("FIT XRMS: 0.38       FIT YRMS: 0.39", "XRMS: 0.38    YRMS: 0.39")
    text = text.replace("shifts of -0.1504, -0.3482 with significance of 18.52 and 377 "
                        "matches", "shifts of  -0.1504 -0.3482\n[INFO    ]     with "
                        "significance of  18.52 and  377  matches")
    (tmp_path / "old.log").write_text(text)
    fit = readers.read_tweakreg_log(tmp_path / "old.log").fits[0]
    assert (fit.xrms, fit.yrms) == (0.38, 0.39)
    assert fit.extra["initial_xsh"] == -0.1504 and fit.extra["initial_matches"] == 377


def test_text_that_is_not_a_tweakreg_log(tmp_path):
    (tmp_path / "a.log").write_text("[INFO    ] hello\n")
    with pytest.raises(ProductReadError, match="a.log is not a TweakReg log"):
        readers.read_tweakreg_log(tmp_path / "a.log")


# --- AstroDrizzle logs ------------------------------------------------------------------

def test_drizzle_logs_2019(runs):
    sparse = readers.read_drizzle_log(runs / "align_sparse_fields/f814w_driz.log")
    assert (sparse.version, sparse.instrument, sparse.detector) == ("3.1.3", "ACS", "WFC")
    assert sparse.params["skymethod"] == "localmin" and sparse.notable == ()
    mosaic = readers.read_drizzle_log(runs / "align_mosaics/astrodrizzle.log")
    assert (mosaic.instrument, mosaic.detector) == ("WFC3", "IR")
    assert mosaic.notable == ()  # "No CR mask file found": driz_cr was switched off


def test_drizzle_log_311_and_injected_sky_fallback(tmp_path, data311):
    log = readers.read_drizzle_log(data311 / "good/astrodrizzle.log")
    assert log.version == "3.11.0" and log.params["skymethod"] == "match"
    assert log.notable == ()
    lines = (data311 / "good/astrodrizzle.log").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if "skymatch started" in line)
    lines.insert(at, '[WARNING ] Reverting sky computation to "localmin" from "match')
    lines.insert(at + 1, "[INFO    ] *WARNING:* Unable to compute sky: No valid data in "
                         "common image areas")
    (tmp_path / "astrodrizzle.log").write_text("\n".join(lines) + "\n")
    notable = readers.read_drizzle_log(tmp_path / "astrodrizzle.log").notable
    assert [(n.line, n.level, n.kind) for n in notable] == [
        (at + 1, "warn", "sky-fallback"), (at + 2, "warn", "sky-no-overlap")]


# --- FITS: input exposures and drizzled images ------------------------------------------

def test_input_exposure_acs_flc_header(real_data):
    e = readers.read_input_exposure(real_data / "headers/sample_flc_header.fits")
    assert (e.rootname, e.asn_id, e.targname, e.instrument, e.detector, e.filter) == (
        "jbt122x8q", "JBT122020", "PGC2807133", "ACS", "WFC", "F814W")
    assert (e.exptime, e.date_obs, e.postarg1, e.postarg2) == (450.0, "2012-07-04",
                                                               0.24776, 3.00079)
    assert e.wcsname == "IDC_4bb1536cj-FIT_IMG_GAIAeDR3" and e.nmatches == 10
    assert e.rms_ra == pytest.approx(15.2604, abs=1e-4) and e.rms_origin == "pipeline"
    assert e.pixel_scale == 0.05 and e.orientat == pytest.approx(57.4475, abs=1e-4)


def test_input_exposure_wfc3_svm(real_data):
    e = readers.read_input_exposure(real_data / "headers/sample_svm_flc.fits")
    assert (e.instrument, e.detector, e.filter, e.nmatches) == ("WFC3", "UVIS", "F555W", 494)
    assert e.pixel_scale == pytest.approx(0.03962) and "FIT_SVM" in e.wcsname


def test_tweakreg_rms_in_degrees_is_converted_to_on_sky_mas(tmp_path, real_data):
    with fits.open(real_data / "headers/sample_flc_header.fits") as hdul:
        sci = hdul["SCI", 1].header
        for key in ("NMATCHES",):
            del sci[key]
        sci["WCSNAME"], sci["FITNAME"] = "TWEAK", "TWEAK"
        sci["RMS_RA"], sci["RMS_DEC"], sci["NMATCH"] = 1e-6, 2e-6, 50
        hdul.writeto(tmp_path / "t_flc.fits")
    e = readers.read_input_exposure(tmp_path / "t_flc.fits")
    cosdec = math.cos(math.radians(sci["CRVAL2"]))
    assert e.rms_origin == "tweakreg" and e.nmatches == 50
    assert e.rms_ra == pytest.approx(3.6 * cosdec) and e.rms_dec == pytest.approx(7.2)


def test_drizzled_from_the_real_drc_header(tmp_path, real_data):
    with fits.open(real_data / "headers/sample_drc_header.fits") as hdul:
        hdul["SCI"].data = np.arange(600, dtype=np.float32).reshape(20, 30)
        hdul["WHT"].data = np.ones((20, 30), dtype=np.float32)
        hdul["CTX"].data = np.ones((20, 30), dtype=np.int32)
        crval = (hdul["SCI"].header["CRVAL1"], hdul["SCI"].header["CRVAL2"])
        hdul.writeto(tmp_path / "x_drc.fits")
    drc = readers.read_drizzled(tmp_path / "x_drc.fits")
    assert drc.sci.shape == (20, 30) and drc.sci[1, 2] == 32.0
    assert not drc.sci.flags.writeable and not drc.wht.flags.writeable
    assert drc.ctx is not None and drc.ctx.dtype.kind == "i"
    assert tuple(drc.wcs.wcs.crval) == pytest.approx(crval)
    assert drc.header == {"INSTRUME": "ACS", "DETECTOR": "WFC", "FILTER1": "CLEAR1L",
                          "FILTER2": "F814W", "TARGNAME": "PGC2807133", "EXPTIME": 450.0,
                          "NDRIZIM": 2, "BUNIT": "ELECTRONS/S",
                          "EXPSTART": 56112.82084112, "EXPEND": 56112.8260614}


def test_drizzled_real_skycell_and_header_only_file(real_data):
    mvm = readers.read_drizzled(real_data / "headers/sample_mvm_drc.fits")
    assert mvm.sci.shape == (10, 10) and mvm.ctx is None and mvm.header["NDRIZIM"] == 12
    with pytest.raises(ProductReadError, match="sample_drc_header.fits SCI or WHT extension "
                                               "holds no image data"):
        readers.read_drizzled(real_data / "headers/sample_drc_header.fits")


def test_fits_readers_reject_text(tmp_path):
    (tmp_path / "a_flc.fits").write_text("not fits")
    with pytest.raises(ProductReadError, match="a_flc.fits cannot be read as FITS"):
        readers.read_input_exposure(tmp_path / "a_flc.fits")
    with pytest.raises(ProductReadError, match="a_flc.fits cannot be read as FITS"):
        readers.read_drizzled(tmp_path / "a_flc.fits")


# --- catalogs and discovery -------------------------------------------------------------

def test_sky_catalogs(runs):
    cat = readers.read_sky_catalog(runs / "align_mosaics/ick901hzq_flt_sky_catalog.coo")
    assert cat.image == "ick901hzq_flt.fits" and len(cat.ra) == 546 and cat.flux is None
    assert cat.ra[0] == 274.717186129179 and not cat.dec.flags.writeable
    cum = readers.read_sky_catalog(runs / "align_mosaics/cumulative_sky_refcat_ick902neq_flt"
                                          ".coo")
    assert cum.image == "ick902neq_flt.fits" and cum.flux[0] == 1906.1


@pytest.mark.parametrize("folder, tlog, dlog, context", [
    ("align_sparse_fields", "tweakreg.log", "f814w_driz.log", ("ACS", "WFC", "rscale")),
    ("align_mosaics", "tweakreg.log", "astrodrizzle.log", ("WFC3", "IR", "rscale")),
    ("align_to_catalogs", "tweakreg.log", "astrodrizzle.log", ("WFC3", "UVIS", "general")),
])
def test_load_products_of_each_real_folder(runs, folder, tlog, dlog, context):
    paths = readers.find_products(runs / folder)
    products = readers.load_products(paths)
    assert products.tweakreg_log.path.endswith(tlog)
    assert products.drizzle_log.path.endswith(dlog)
    c = products.context
    assert (c.instrument, c.detector, c.fitgeometry) == context and c.pixel_scale is None
    # align_mosaics@72c8274: the 12 UVIS match files are stale (its last run crashed)
    stale = 12 if folder == "align_mosaics" else 0
    assert len(products.fit_matches) + stale == len(paths.fit_matches) > 0
    assert len(products.catalogs) == len(paths.catalogs) > 0
    assert products.drc is None and products.inputs == ()


def test_load_products_with_external_inputs(data311, real_data):
    header = real_data / "headers/sample_flc_header.fits"
    products = readers.load_products(readers.find_products(data311 / "good"),
                                     inputs=[header])
    c = products.context
    assert (c.instrument, c.detector, c.fitgeometry, c.pixel_scale) == (
        "ACS", "WFC", "rscale", 0.05)
    assert products.drizzle_log.version == "3.11.0" and len(products.fit_matches) == 2


def test_find_products_on_a_missing_directory(tmp_path):
    with pytest.raises(ProductReadError, match="cannot be listed"):
        readers.find_products(tmp_path / "absent")


@pytest.mark.parametrize("text, problem", [
    ("# frame: output\n# units: pixels\na.fits 1 2 3\n", "shift.txt line 3: expected 7 columns"),
    ("# frame: output\na.fits 1 2 3 4 5 x\n", "shift.txt line 2 column 7 (yrms): 'x' is not a number"),
])
def test_damaged_shiftfile_is_found_and_reported(tmp_path, text, problem):
    """A shift file with its header but a damaged row is listed, not silently ignored."""
    for name in ("shift.txt", "other.txt"):
        (tmp_path / name).write_text(text.replace("shift.txt", name))
    paths = readers.find_products(tmp_path)
    assert sorted(Path(p).name for p in paths.shiftfiles) == ["other.txt", "shift.txt"]
    with pytest.raises(ProductReadError) as info:
        readers.read_shiftfile(tmp_path / "shift.txt")
    assert str(info.value).startswith(problem)
