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
    26 px with a 2 arcsec search) and the Gaia catalog fit: no warning, no failure. No
    input exposures here: the arcsec search radius cannot be put in pixels (the shift
    part is not judged and says so) nor 20 mas (the visits' consistency is skipped)."""
    products = load_products(find_products(real_data / "tweakreg_runs" / folder))
    got = verdicts(products)
    assert got and {r.status for r in got.values()} <= {Status.PASS, Status.SKIP}, \
        [r.message for r in got.values() if r.status not in (Status.PASS, Status.SKIP)]
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
