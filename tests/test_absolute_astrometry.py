"""Tests of checks.absolute_astrometry on single-drizzled-like images of a Gaia field.

The stars of a Gaia-like table (positions at J2016.0, proper motions) are drawn as
Gaussians (FWHM 2.4 px, centred exactly: drizzlepac's PSF files are not centred on a
pixel) where they are at the exposure's epoch, optionally moved by a known offset on the
sky; the check must measure that offset in mas.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import astropy.units as u
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table
from astropy.time import Time
from astropy.wcs import WCS

from hst_align_qa.checks.absolute_astrometry import absolute_astrometry, propagate, usable_gaia
from hst_align_qa.checks.products import (FitMatches, GaiaCatalog, InputExposure, Products,
                                          SingleDrizzled)
from hst_align_qa.checks.registry import run_check, spec_of
from hst_align_qa.checks.result import Status
from hst_align_qa.checks.thresholds import ThresholdTable
from hst_align_qa.fixtures.sources.gaia import OFFLINE

SPEC = spec_of(absolute_astrometry)
SHAPE = (700, 700)
CENTRE = (6.0, -72.0)
MJD = 56293.137  # 2013-01-01, three years before Gaia's epoch
GAIA_WCS = "IDC_4bb1536cj-FIT_IMG_GAIAeDR3"


def _wcs() -> WCS:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = list(CENTRE)
    w.wcs.crpix = [SHAPE[1] / 2, SHAPE[0] / 2]
    w.wcs.cd = [[-0.05 / 3600, 0.0], [0.0, 0.05 / 3600]]
    return w


def _gaia(n=120, pm=(0.0, 0.0), seed=3, bad=0) -> Table:
    """Gaia rows in the image at J2016.0; ``bad`` rows without pm, ``bad`` with RUWE 3."""
    rng = np.random.default_rng(seed)
    ra, dec = _wcs().all_pix2world(rng.uniform(40, SHAPE[1] - 40, n),
                                   rng.uniform(40, SHAPE[0] - 40, n), 0)
    pmra = pm[0] + rng.normal(0, 1.0, n)
    pmdec = pm[1] + rng.normal(0, 1.0, n)
    now = SkyCoord(ra * u.deg, dec * u.deg)
    dt = 2016.0 - Time(MJD, format="mjd").jyear
    at2016 = now.spherical_offsets_by(pmra * dt * u.mas, pmdec * dt * u.mas)
    t = Table({"source_id": np.arange(n), "ra": at2016.ra.deg, "dec": at2016.dec.deg,
               "pmra": pmra, "pmdec": pmdec, "parallax": np.full(n, 0.2),
               "ruwe": np.full(n, 1.0), "ref_epoch": np.full(n, 2016.0),
               "phot_g_mean_mag": rng.uniform(16, 20, n)})
    t["pmra"][:bad] = np.nan
    t["ruwe"][bad:2 * bad] = 3.0
    t.meta["true_ra"], t.meta["true_dec"] = list(ra), list(dec)
    return t


def _single(table: Table, offset_mas=(0.0, 0.0), seed=0) -> SingleDrizzled:
    """An image of ``table``'s stars at ``MJD``, moved by ``offset_mas`` (east, north)."""
    rng = np.random.default_rng(seed)
    true = SkyCoord(np.array(table.meta["true_ra"]) * u.deg,
                    np.array(table.meta["true_dec"]) * u.deg)
    seen = true.spherical_offsets_by(offset_mas[0] * u.mas, offset_mas[1] * u.mas)
    x, y = _wcs().all_world2pix(seen.ra.deg, seen.dec.deg, 0)
    img = rng.normal(0.0, 0.01, SHAPE)
    g = np.arange(-6, 7)
    for xi, yi in zip(x, y):
        ix, iy = int(round(xi)), int(round(yi))
        r2 = (g[None, :] + ix - xi) ** 2 + (g[:, None] + iy - yi) ** 2
        img[iy - 6:iy + 7, ix - 6:ix + 7] += 40.0 * np.exp(-0.5 * r2 / 1.02 ** 2) / 6.5
    img = img.astype(np.float32)
    img.flags.writeable = False
    return SingleDrizzled(name="jgai01q_single_sci.fits", path="", rootname="jgai01q",
                          sci=img, wcs=_wcs(), expstart=MJD)


def _input(wcsname=GAIA_WCS) -> InputExposure:
    return InputExposure(
        name="jgai01q_flc.fits", rootname="jgai01q", asn_id="", targname="", instrument="ACS",
        detector="WFC", filter="F606W", exptime=339.0, ra_targ=CENTRE[0],
        dec_targ=CENTRE[1], date_obs="2013-01-01", postarg1=0.0, postarg2=0.0,
        orientat=0.0, wcsname=wcsname, nmatches=50, rms_ra=6.0, rms_dec=6.0,
        pixel_scale=0.05, expstart=MJD, rms_origin="pipeline")


def _judge(products: Products, **params):
    table = ThresholdTable.default()
    threshold = table.lookup("absolute_astrometry")
    if params:
        threshold = replace(threshold, params={**threshold.params, **params})
    return run_check(SPEC, products, threshold, "test",
                     table.levels_for("absolute_astrometry"))


def _products(single, table, wcsname=GAIA_WCS, **kw) -> Products:
    return Products(single=(single,), inputs=(_input(wcsname),),
                    gaia=GaiaCatalog(table, "Gaia DR3", "test"), **kw)


def test_clean_product_passes_and_reports_offsets():
    t = _gaia(bad=5)
    (r,) = _judge(_products(_single(t), t))
    assert r.status is Status.PASS, r.message
    assert r.observed < 2.0
    assert r.details["n_used"] >= 90 and r.details["rms_mas"] < 5.0
    assert r.details["dropped_no_pm"] == 5 and r.details["dropped_ruwe"] == 5
    assert "5 without proper motion, 5 with RUWE > 1.4 dropped" in r.message
    assert r.details["frame_kind"] == "gaia" and r.details["frame"] == "GAIAEDR3"
    assert len(r.details["vectors"]) == r.details["n_used"]


def test_40_mas_offset_fails_naming_the_offset():
    t = _gaia()
    (r,) = _judge(_products(_single(t, offset_mas=(40.0, 0.0)), t))
    assert r.status is Status.FAIL
    assert r.details["dra_mas"] == pytest.approx(40.0, abs=2.0)
    assert abs(r.details["ddec_mas"]) < 2.0
    assert "|offset| 4" in r.message and "mas" in r.message
    assert r.details["err_dra_mas"] < 1.0


def test_proper_motion_passes_only_with_propagation():
    t = _gaia(pm=(35.0, -45.0))
    products = _products(_single(t), t)
    (good,) = _judge(products)
    assert good.status is Status.PASS, good.message
    (bad,) = _judge(products, propagate_motion=False)
    assert bad.status is Status.FAIL, bad.message
    # the stars moved by pm * 3 yr between the exposure and Gaia's epoch
    assert bad.details["dra_mas"] == pytest.approx(-35.0 * 3.0, rel=0.05)
    assert bad.details["ddec_mas"] == pytest.approx(45.0 * 3.0, rel=0.05)
    assert "NOT propagated" in bad.message


def test_apriori_frame_warns_naming_it():
    t = _gaia()
    (r,) = _judge(_products(_single(t, offset_mas=(60.0, 0.0)), t,
                            wcsname="IDC_4bb1536cj-GSC240"))
    assert r.status is Status.WARN, r.message
    assert "NOT a Gaia frame (GSC240)" in r.message
    (far,) = _judge(_products(_single(t, offset_mas=(1200.0, 0.0)), t,
                              wcsname="IDC_4bb1536cj"), search_radius_arcsec=2.0)
    assert far.status is Status.FAIL, far.message


def test_too_few_matches_skip_with_the_count():
    t = _gaia(n=6)
    (r,) = _judge(_products(_single(t), t))
    assert r.status is Status.SKIP
    assert "6 Gaia stars matched, fewer than 10" in r.message


def test_no_catalog_offline_skips_with_one_line_reason():
    t = _gaia()
    products = Products(single=(_single(t),), inputs=(_input(),),
                        gaia=GaiaCatalog(None, "Gaia DR3", "test", OFFLINE))
    (r,) = _judge(products)
    assert r.status is Status.SKIP
    assert r.message == "Gaia catalog not available offline (run once with --remote-data)"
    failed = Products(single=(_single(t),), gaia=GaiaCatalog(
        None, "Gaia DR3", "test", "Gaia catalog query failed: boom", failed=True))
    assert _judge(failed)[0].status is Status.ERROR


def test_match_file_positions_products_mode():
    """A match file's fitted RA/Dec, as a products directory made elsewhere holds."""
    t = _gaia(n=80)
    true = SkyCoord(np.array(t.meta["true_ra"]) * u.deg, np.array(t.meta["true_dec"]) * u.deg)
    seen = true.spherical_offsets_by(0.0 * u.mas, -30.0 * u.mas)
    fm = FitMatches(image="jgai01q_flc.fits", path="jgai01q_flc_catalog_fit.match",
                    header={}, table=Table({"ra": seen.ra.deg, "dec": seen.dec.deg}))
    products = Products(fit_matches=(fm,), inputs=(_input(),),
                        gaia=GaiaCatalog(t, "Gaia DR3", "test"))
    (r,) = _judge(products)
    assert r.subject == "jgai01q_flc_catalog_fit.match"
    assert r.status is Status.FAIL
    assert r.details["ddec_mas"] == pytest.approx(-30.0, abs=0.5)


def test_propagation_matches_known_motion():
    t = _gaia(n=5, pm=(100.0, 0.0))
    keep, counts = usable_gaia(t, 1.4)
    assert counts["kept"] == 5
    now = propagate(t, keep, MJD)
    true = SkyCoord(np.array(t.meta["true_ra"]) * u.deg, np.array(t.meta["true_dec"]) * u.deg)
    assert now.separation(true).to_value(u.mas).max() < 0.5


def test_registered_with_levels():
    table = ThresholdTable.default()
    base = table.lookup("absolute_astrometry")
    assert (base.warn, base.fail, base.unit) == (10.0, 20.0, "mas")
    apriori = table.lookup("absolute_astrometry", instrument="ACS", detector="WFC",
                           reference="apriori")
    assert (apriori.warn, apriori.fail) == (0.0, 1000.0)
    assert "MAX_FIT_RMS" in base.note and "GSC240" in apriori.note


def test_apriori_levels_apply_without_input_headers():
    """Products made elsewhere: no input exposure tells the detector or the frame."""
    t = _gaia()
    products = Products(single=(_single(t),), gaia=GaiaCatalog(t, "Gaia DR3", "test"))
    (r,) = _judge(products)
    assert r.status is Status.WARN and "NOT a Gaia frame (unknown)" in r.message
    assert r.threshold["fail"] == 1000.0


def test_vector_figure_is_drawn():
    t = _gaia()
    products = _products(_single(t, offset_mas=(25.0, -10.0)), t)
    results = _judge(products)
    (figure,) = SPEC.figures(results, products)
    png = figure.draw()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    assert "offsets from Gaia DR3" in figure.title


def test_empty_catalog_skips_with_zero_matches():
    """A field where Gaia has no star (MAST answers no rows): skipped, never a pass."""
    t = _gaia()
    empty = Table({"source_id": np.zeros(0), "ra": np.zeros(0), "dec": np.zeros(0),
                   "pmra": np.zeros(0), "pmdec": np.zeros(0), "ruwe": np.zeros(0)})
    (r,) = _judge(_products(_single(t), empty))
    assert r.status is Status.SKIP and "0 Gaia stars matched" in r.message
