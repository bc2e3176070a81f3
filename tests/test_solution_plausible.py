"""solution_plausible on real TweakReg shift files and logs (2019 STScI notebooks,
``tests/data/real/tweakreg_runs``), and on the same rows with one wrong solution put in:
what a fit with a small RMS can still get wrong."""
from __future__ import annotations

import dataclasses
import math

import pytest

from hst_align_qa.checks.products import Context, Products
from hst_align_qa.checks.readers import find_products, load_products, read_shiftfile
from hst_align_qa.checks.registry import run_check, spec_of
from hst_align_qa.checks.result import Status
from hst_align_qa.checks.solution_plausible import solution_plausible
from hst_align_qa.checks.thresholds import ThresholdTable


def verdicts(products):
    return {r.subject: r for r in run_check(
        spec_of(solution_plausible), products,
        ThresholdTable.default().lookup("solution_plausible"), "d")}


def with_row(sf, image, **values):
    rows = tuple(dataclasses.replace(r, **values) if r.image == image else r for r in sf.rows)
    return dataclasses.replace(sf, rows=rows)


@pytest.fixture()
def sparse(real_data):
    """align_sparse_fields as the notebook left it: 4 runs, searchrad 1 arcsec,
    tolerance 1 px, ACS/WFC (0.05"/px: the 1 arcsec search is 20 px)."""
    products = load_products(find_products(real_data / "tweakreg_runs/align_sparse_fields"))
    return dataclasses.replace(products, context=Context("ACS", "WFC", "rscale", 0.05))


def test_real_fits_are_plausible(sparse):
    """test3's shifts (0.1-0.4 px), rotations (<= 0.0013 deg) and scales (3e-5) are what
    HST visits give; the four exposures of visit j8xi0x agree within their RMS."""
    got = verdicts(sparse)
    assert {r.status for r in got.values()} == {Status.PASS}, got
    row = got["shift814_flc_test3.txt:j8xi0xs0q_flc.fits"]
    assert "2 x (searchrad 1 arcsec = 20.0 px + tolerance 1 px) = 42.0 px" in row.message
    assert "run 3 of 4" in row.message
    assert "shift814_flc_test3.txt:visit j8xi0x" in got


@pytest.mark.parametrize("folder", ["align_mosaics", "align_to_catalogs"])
def test_real_mosaics_and_catalog_fits_are_plausible(real_data, folder):
    """The real WFC3 mosaics (rotations up to 0.0135 deg, scales 1.2e-4, UVIS shifts of
    26 px with a 2 arcsec search) and the Gaia catalog fit: no failure. No input
    exposures here: the shift-file pixels are put on the sky with the scale the rootname
    tells (i*_flc: WFC3/UVIS) or, for an image fitted to a raw reference exposure, that
    exposure's frame; the IR tiles (i*_flt: UVIS or IR) fitted to a drizzled mosaic stay
    unjudged where the arcsec search needs a scale, and say so. The Gaia visit ibwb01
    spreads 0.85 of drizzlepac's 20 mas: its warning (see the next test) is the only one."""
    products = load_products(find_products(real_data / "tweakreg_runs" / folder))
    got = verdicts(products)
    bad = {k: r.status for k, r in got.items() if r.status not in (Status.PASS, Status.SKIP)}
    assert bad == ({"Gaia_shifts.txt:visit ibwb01": Status.WARN}
                   if folder == "align_to_catalogs" else {}), bad
    assert any(r.status is Status.PASS for r in got.values())


def test_catalog_fit_of_one_visit_spread_near_hap_limit_warns(real_data):
    """align_to_catalogs on WFC3/UVIS (0.0396"/px): the three exposures of visit ibwb01,
    fitted to Gaia one by one, disagree by 0.43 px = 17 mas, 0.86 of drizzlepac's 20 mas
    consistency limit. Their own fits are good (rms <= 0.044 px), so the spread is not
    noise: a careful astronomer looks before combining. WARN, not FAIL."""
    products = load_products(find_products(real_data / "tweakreg_runs/align_to_catalogs"))
    products = dataclasses.replace(products, context=Context("WFC3", "UVIS", "general", 0.0396))
    visit = verdicts(products)["Gaia_shifts.txt:visit ibwb01"]
    assert visit.status is Status.WARN
    assert 0.8 < visit.observed < 0.9


def test_shift_beyond_the_search_fails(sparse):
    """A 50 px correction from a 1 arcsec (20 px) search: TweakReg cannot have found it
    by matching; jwst/stcal's rule (2 x (searchrad + tolerance) = 42 px) rejects it."""
    sf = with_row(sparse.shiftfiles[0], "j8xi0xs0q_flc.fits", xsh=40.0, ysh=30.0)
    got = verdicts(dataclasses.replace(sparse, shiftfiles=(sf,)))
    r = got["shift814_flc_test3.txt:j8xi0xs0q_flc.fits"]
    assert r.status is Status.FAIL and r.details["worst"] == "shift"
    assert math.isclose(r.observed, 50.0 / 42.0, rel_tol=1e-6)


@pytest.mark.parametrize("rot,scale,status", [
    (0.3, 1.0, Status.FAIL), (359.7, 1.0, Status.FAIL), (0.06, 1.0, Status.WARN),
    (0.0, 1.003, Status.FAIL), (0.0, 0.9994, Status.WARN), (0.0013, 1.00003, Status.PASS)])
def test_rotation_and_scale(sparse, rot, scale, status):
    sf = with_row(sparse.shiftfiles[0], "j8xi0xs3q_flc.fits", rot=rot, scale=scale)
    got = verdicts(dataclasses.replace(sparse, shiftfiles=(sf,)))
    assert got["shift814_flc_test3.txt:j8xi0xs3q_flc.fits"].status is status


def test_one_exposure_of_a_visit_one_pixel_off_with_a_small_rms_fails(sparse):
    """A wrong solution with a small RMS: j8xi0xs3q's shift moved by 1 px (its rms stays
    0.05-0.07 px). Its siblings of visit j8xi0x say where it should be: the shifts' spread
    (0.53 px) exceeds max(rms 0.082 px, 20 mas = 0.4 px)."""
    sf = sparse.shiftfiles[0]
    row = next(r for r in sf.rows if r.image == "j8xi0xs3q_flc.fits")
    got = verdicts(dataclasses.replace(
        sparse, shiftfiles=(with_row(sf, row.image, xsh=row.xsh + 1.0),)))
    visit = got["shift814_flc_test3.txt:visit j8xi0x"]
    assert visit.status is Status.FAIL, visit.message
    assert "drizzlepac's fit consistency" in visit.message


def test_without_log_only_rotation_scale_and_consistency(real_data):
    sf = read_shiftfile(real_data / "tweakreg_runs/align_sparse_fields/shift814_flc_test3.txt")
    got = verdicts(Products(shiftfiles=(sf,)))
    r = got["shift814_flc_test3.txt:j8xi0xs0q_flc.fits"]
    assert r.status is Status.PASS and "not judged: no TweakReg log" in r.message


# ---------------------------------------------------------------- guided drift (DASH)
def _dash(n=8, matches=300, moved=None):
    """A WFC3/IR visit taken in guided drift (DASH-like, constructed: the real DASH
    repository is kept for the independent evaluation): n exposures of visit icxe15,
    shifts growing by (6, -4) px per exposure (to 52 px, 6.7 arcsec), rms 0.05-0.07 px,
    each fit from ``matches`` sources; searchrad 2 arcsec (15.6 IR px), tolerance 1 px.
    ``moved``: an image whose shift-file row is moved by 1 px after the fit (the log keeps
    the fitted shift)."""
    from hst_align_qa.checks.products import (ImageFit, ShiftFile, ShiftRow, TweakRegLog,
                                              TweakRegRun)
    rows, fits = [], []
    for i in range(n):
        image = f"icxe15{chr(ord('a') + i)}xq_flt.fits"
        xsh, ysh = 4.0 + 6.0 * i + 0.01 * (-1) ** i, -2.0 - 4.0 * i
        xrms, yrms = 0.05 + 0.002 * i, 0.06
        fits.append(ImageFit(image, matches, xrms, yrms, "rscale", xsh=xsh, ysh=ysh,
                             rot=0.0, scale=1.0, line=100 + 20 * i))
        if image == moved:
            xsh += 1.0
        rows.append(ShiftRow(image, xsh, ysh, 0.0, 1.0, xrms, yrms, 5 + i))
    run = TweakRegRun(0, 1, "3.11.0", {"searchrad": "2.0", "searchunits": "arcseconds",
                                       "tolerance": "1.0", "xoffset": "0.0",
                                       "yoffset": "0.0"},
                      tuple(r.image for r in rows), shiftfile="dash_shifts.txt",
                      completed=True)
    log = TweakRegLog("tweakreg.log", "3.x", "3.11.0", tuple(fits), (), (run,))
    sf = ShiftFile("dash_shifts.txt", "dash_shifts.txt", "output", "", "delta", "pixels",
                   tuple(rows))
    return Products(shiftfiles=(sf,), tweakreg_log=log,
                    context=Context("WFC3", "IR", "rscale", 0.1283))


def test_guided_drift_with_confirmed_fits_is_plausible():
    """DASH: the shifts grow to 52 px along a straight drift, beyond the 2 arcsec search
    bound (33 px), each with 300 matches at rms <= 0.07 px: the log's own fits confirm
    them (same shift, many matches, rms far below the 0.5 px a false match within a 1 px
    tolerance shows; drizzlepac's radial-offset test passes at 6.7 arcsec with 300
    matches). Not implausible: the visit is judged about its drift (0.01 px scatter)."""
    got = verdicts(_dash())
    assert {r.status for r in got.values()} == {Status.PASS}, \
        [r.message for r in got.values() if r.status is not Status.PASS]
    last = got["dash_shifts.txt:icxe15hxq_flt.fits"]
    assert "beyond the search" in last.message and "confirmed by its fit" in last.message
    visit = got["dash_shifts.txt:visit icxe15"]
    assert "guided drift" in visit.message and visit.details["drift_px"] > 50
    assert visit.observed < 0.2


def test_drift_does_not_excuse_a_row_its_fit_does_not_confirm():
    """The same visit with one row moved by 1 px after the fit: that row is not the
    solution the log's matches gave, so the search bound applies to it (beyond it: fail)
    and the visit is judged by the plain spread rule (fail)."""
    got = verdicts(_dash(moved="icxe15hxq_flt.fits"))
    assert got["dash_shifts.txt:icxe15hxq_flt.fits"].status is Status.FAIL
    assert got["dash_shifts.txt:icxe15hxq_flt.fits"].details["worst"] == "shift"
    assert got["dash_shifts.txt:visit icxe15"].status is Status.FAIL
    assert "guided drift" not in got["dash_shifts.txt:visit icxe15"].message


def test_drift_with_few_matches_is_not_confirmed():
    """With 20 matches per fit (below the 25 a general fit needs in drizzlepac), the fits
    do not prove themselves: shifts beyond the search fail, the visit spread fails."""
    got = verdicts(_dash(matches=20))
    assert got["dash_shifts.txt:icxe15hxq_flt.fits"].status is Status.FAIL
    assert got["dash_shifts.txt:visit icxe15"].status is Status.FAIL
