"""wcs_consistency on real HST headers (ACS/WFC, WFC3/UVIS, WFC3/IR exposures from
drizzlepac's tests, ``tests/data/real/headers``), with one fault injected per case the
way it happens to users' files."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from astropy.io import fits

from hst_align_qa.checks.products import Products
from hst_align_qa.checks.readers import read_input_exposure, read_tweakreg_log
from hst_align_qa.checks.registry import run_check, spec_of
from hst_align_qa.checks.result import Status
from hst_align_qa.checks.thresholds import ThresholdTable
from hst_align_qa.checks.wcs_consistency import astrometric_frame, wcs_consistency

ACS, UVIS, IR = "sample_flc_header.fits", "sample_svm_flc.fits", "sample_ir_flt.fits"


def exposure(real_data: Path, tmp_path: Path, template: str, name: str, **edits):
    """A copy of a real exposure's headers named ``name``; ``edits``: keyword -> value in
    the primary ("0:KEY") or every SCI header ("KEY"), or ``drop`` = EXTNAME to remove."""
    path = tmp_path / name
    shutil.copy(real_data / "headers" / template, path)
    drop = edits.pop("drop", None)
    with fits.open(path, mode="update") as hdul:
        for key, value in edits.items():
            if key.startswith("0:"):
                hdul[0].header[key[2:]] = value
            else:
                for h in hdul:
                    if h.name == "SCI":
                        h.header[key] = value
        if drop:
            for i in reversed([i for i, h in enumerate(hdul) if h.name == drop]):
                del hdul[i]
    return read_input_exposure(path)


def verdicts(*inputs):
    return {r.subject: r for r in run_check(
        spec_of(wcs_consistency), Products(inputs=tuple(inputs)),
        ThresholdTable.default().lookup("wcs_consistency"), "d")}


@pytest.mark.parametrize("name,frame", [
    ("IDC_4bb1536cj-FIT_IMG_GAIAeDR3", "GAIAEDR3"), ("IDC_w3m18525i-FIT_REL_GAIADR1", "GAIADR1"),
    ("IDC_2731450pi-FIT_SVM_GAIADR2", "GAIADR2"), ("IDC_4bb1536cj-GSC240", "GSC240"),
    ("IDC_4bb1536cj-HSC30", "HSC30"), ("IDC_4bb1536cj", "none"), ("OPUS", "none"),
    ("IDC_4bb1536cj-FIT_REL_NONE", "NONE"), ("TWEAK", None), ("my_alignment", None),
    ("Gaia", None), ("my-own-gaia", None), ("OPUS-GSC240", "GSC240")])
def test_frames_of_pipeline_wcsnames(name, frame):
    assert astrometric_frame(name) == frame


def test_real_exposures_of_one_frame_pass(real_data, tmp_path):
    """Two ACS/WFC exposures as MAST delivers them (FIT_IMG_GAIAeDR3, lookup tables
    present): pass."""
    a = exposure(real_data, tmp_path, ACS, "ja_flc.fits")
    b = exposure(real_data, tmp_path, ACS, "jb_flc.fits")
    got = verdicts(a, b)
    assert {r.status for r in got.values()} == {Status.PASS}, got
    assert "GAIAEDR3" in got["astrometric frame"].message


def test_mixed_gaia_releases_fail(real_data, tmp_path):
    """drizzlepac #1021: one exposure on FIT_REL_GAIADR1, the other on GAIADR2. A careful
    astronomer refuses to combine them before re-running the astrometric update."""
    a = exposure(real_data, tmp_path, ACS, "ja_flc.fits", WCSNAME="IDC_4bb1536cj-FIT_REL_GAIADR1")
    b = exposure(real_data, tmp_path, ACS, "jb_flc.fits", WCSNAME="IDC_4bb1536cj-FIT_REL_GAIADR2")
    frame = verdicts(a, b)["astrometric frame"]
    assert frame.status is Status.FAIL
    assert "GAIADR1: ja_flc.fits" in frame.message and "GAIADR2: jb_flc.fits" in frame.message


def test_apriori_mixed_with_a_posteriori_fails(real_data, tmp_path):
    a = exposure(real_data, tmp_path, ACS, "ja_flc.fits")
    b = exposure(real_data, tmp_path, ACS, "jb_flc.fits", WCSNAME="IDC_4bb1536cj-GSC240")
    assert verdicts(a, b)["astrometric frame"].status is Status.FAIL


def test_a_user_name_without_a_log_is_not_passed_silently(real_data, tmp_path):
    """After TweakReg with updatehdr an image is called TWEAK (a user's name). Without a
    TweakReg log nothing says what it was fitted to, so whether it is on the GAIAeDR3
    frame of the other cannot be told: warn, and say so (it used to pass unmentioned)."""
    a = exposure(real_data, tmp_path, ACS, "ja_flc.fits")
    b = exposure(real_data, tmp_path, ACS, "jb_flc.fits", WCSNAME="TWEAK")
    frame = verdicts(a, b)["astrometric frame"]
    assert frame.status is Status.WARN
    assert "Frame not told: jb_flc.fits (WCSNAME 'TWEAK', a user's name, and no TweakReg " \
           "log says what it was fitted to)" in frame.message


@pytest.mark.parametrize("a,b", [
    ("IDC_4bb1536cj-FIT_IMG_GAIAeDR3", "IDC_4bb1536cj-FIT_SVM_GAIAeDR3"),
    ("IDC_4bb1536cj-FIT_REL_GAIAeDR3", "IDC_0461802ej-FIT_IMG_GAIAeDR3")])
def test_fit_kinds_on_one_catalog_are_one_frame(real_data, tmp_path, a, b):
    """drizzlepac's test_svm_samewcs compares WCSNAMEs by the part after the first '-'
    (the part before names the distortion solution, which differs between detectors);
    FIT_IMG, FIT_REL and FIT_SVM on one catalog are one frame: pass."""
    x = exposure(real_data, tmp_path, ACS, "ja_flc.fits", WCSNAME=a)
    y = exposure(real_data, tmp_path, ACS, "jb_flc.fits", WCSNAME=b)
    frame = verdicts(x, y)["astrometric frame"]
    assert frame.status is Status.PASS and "GAIAEDR3: ja_flc.fits, jb_flc.fits" in frame.message


def _judge_with_log(log, *inputs):
    return {r.subject: r for r in run_check(
        spec_of(wcs_consistency), Products(inputs=tuple(inputs), tweakreg_log=log),
        ThresholdTable.default().lookup("wcs_consistency"), "d")}


def test_user_names_after_a_catalog_fit_are_judged_from_the_log(real_data, tmp_path):
    """align_to_catalogs (real log): the three UVIS exposures were last fitted to the
    reference catalog 'gaia.cat'. Named GAIA by their user, they are one frame, told from
    the log (pass). With a fourth exposure on the pipeline's GAIAeDR3: whether gaia.cat is
    eDR3 cannot be told from the products: warn, naming both."""
    log = read_tweakreg_log(real_data / "tweakreg_runs/align_to_catalogs/tweakreg.log")
    ims = [exposure(real_data, tmp_path, UVIS, f"{r}_flc.fits", WCSNAME="GAIA")
           for r in ("ibwb01xrq", "ibwb01xxq", "ibwb01xqq")]
    frame = _judge_with_log(log, *ims)["astrometric frame"]
    assert frame.status is Status.PASS, frame.message
    assert "catalog 'gaia.cat': ibwb01xrq_flc.fits, ibwb01xxq_flc.fits, ibwb01xqq_flc.fits" \
        in frame.message
    told = frame.details["told"]["ibwb01xqq_flc.fits"]
    assert "fitted to the reference catalog 'gaia.cat'" in told and "tweakreg.log line" in told
    other = exposure(real_data, tmp_path, UVIS, "ibwb02aaq_flc.fits")
    frame = _judge_with_log(log, *ims, other)["astrometric frame"]
    assert frame.status is Status.WARN
    assert "cannot be compared" in frame.message and "FIT_SVM" not in frame.message
    assert "GAIAEDR3: ibwb02aaq_flc.fits" in frame.message


def test_user_names_after_a_relative_fit_follow_the_reference_image(real_data, tmp_path):
    """align_mosaics (real log): the IR tiles were fitted to the reference image
    ick902neq_flt.fits. With every tile called TWEAK, they share that reference's frame
    (the reference included): pass. When the reference keeps its pipeline WCSNAME, the
    tiles fitted to it are on that frame."""
    log = read_tweakreg_log(real_data / "tweakreg_runs/align_mosaics/tweakreg.log")
    names = ("ick902neq", "ick902n9q", "ick904obq")
    tweak = [exposure(real_data, tmp_path, IR, f"{r}_flt.fits", WCSNAME="TWEAK")
             for r in names]
    frame = _judge_with_log(log, *tweak)["astrometric frame"]
    assert frame.status is Status.PASS, frame.message
    assert "reference image 'ick902neq_flt.fits'" in frame.message
    ref = exposure(real_data, tmp_path, IR, "ick902neq_flt.fits")  # FIT_REL_GAIAeDR3
    frame = _judge_with_log(log, ref, *tweak[1:])["astrometric frame"]
    assert frame.status is Status.PASS, frame.message
    assert "GAIAEDR3: ick902neq_flt.fits, ick902n9q_flt.fits, ick904obq_flt.fits" \
        in frame.message


def test_failed_pipeline_fit_fails(real_data, tmp_path):
    a = exposure(real_data, tmp_path, UVIS, "ia_flc.fits", WCSNAME="IDC_2731450pi-FIT_SVM_NONE")
    got = verdicts(a)
    assert got["ia_flc.fits"].status is Status.FAIL
    assert "FIT_..._NONE" in got["ia_flc.fits"].message


def test_different_idctab_within_a_detector_warns(real_data, tmp_path):
    a = exposure(real_data, tmp_path, ACS, "ja_flc.fits")
    b = exposure(real_data, tmp_path, ACS, "jb_flc.fits", **{"0:IDCTAB": "jref$0461802ej_idc.fits"})
    got = verdicts(a, b)
    assert got["ACS/WFC IDCTAB"].status is Status.WARN
    assert "0461802ej_idc.fits: jb_flc.fits" in got["ACS/WFC IDCTAB"].message


def test_lookup_tables_named_but_missing_fail(real_data, tmp_path):
    """The header names the NPOL file but the WCSDVARR extension was stripped (a file
    rewritten by a tool that drops extensions): the distortion model is incomplete."""
    a = exposure(real_data, tmp_path, UVIS, "ia_flc.fits", drop="WCSDVARR")
    got = verdicts(a)
    assert got["ia_flc.fits"].status is Status.FAIL
    assert "y7b1516qi_npl.fits" in got["ia_flc.fits"].message


def test_ir_has_no_lookup_tables_to_miss(real_data, tmp_path):
    """WFC3/IR has no D2IM/NPOL (D2IMFILE = NPOLFILE = N/A): nothing to flag."""
    got = verdicts(exposure(real_data, tmp_path, IR, "ib_flt.fits"))
    assert {r.status for r in got.values()} == {Status.PASS}, got
