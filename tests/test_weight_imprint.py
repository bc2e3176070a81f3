"""Tests of checks.weight_imprint on drizzled-like arrays with known imprints.

Stars are drizzlepac's ACS/WFC F606W PSF (central 25x25, renormalised) on a noisy sky;
the weight image has a drizzle-like pixel pattern and a footprint step (one exposure
less on the left). An "imprint" multiplies WHT by ``1 - depth * exp(-r^2 / 2 s^2)``
(s = 0.8 px) around a point 0.7 px from the star, as cosmic-ray rejection of a visit
misaligned by about a pixel does.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from hst_align_qa.checks.products import DrizzledImage, Products, SourceCatalog
from hst_align_qa.checks.registry import run_check, spec_of
from hst_align_qa.checks.result import Status
from hst_align_qa.checks.thresholds import ThresholdTable
from hst_align_qa.checks.stars import find_peaks
from hst_align_qa.checks.weight_imprint import star_ratios, weight_imprint

SPEC = spec_of(weight_imprint)
SHAPE = (600, 640)
# Located without importing drizzlepac (its import emits deprecation warnings).




def _simple_wcs() -> WCS:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [6.0, -72.0]
    w.wcs.crpix = [SHAPE[1] / 2, SHAPE[0] / 2]
    w.wcs.cd = [[-1.39e-5, 0.0], [0.0, 1.39e-5]]
    return w


def _scene(psf, seed: int, n_stars: int = 300, depth: float = 0.0, dipped: float = 1.0,
           cr_tracks: int = 0, wcs: WCS | None = None, flux_range=(2.0, 50.0)):
    """A drizzled-like product with ``n_stars`` stars; a fraction ``dipped`` of them carry
    an imprint of ``depth``; ``cr_tracks`` weight dips at random places. Returns the
    product and the star positions (x, y) and which stars are dipped."""
    rng = np.random.default_rng(seed)
    ny, nx = SHAPE
    sky_sigma = 0.01
    sci = rng.normal(0.0, sky_sigma, SHAPE)
    x = rng.integers(20, nx - 20, n_stars)
    y = rng.integers(20, ny - 20, n_stars)
    flux = np.exp(rng.uniform(*np.log(flux_range), n_stars))
    for xi, yi, f in zip(x, y, flux):
        sci[yi - 12:yi + 13, xi - 12:xi + 13] += f * psf
    yy, xx = np.mgrid[0:ny, 0:nx]
    wht = 1017.0 * (1 + 0.03 * np.sin(xx * 2.1) * np.cos(yy * 1.7))  # drizzle pattern
    wht[:, : nx // 3] *= 2.0 / 3.0  # one exposure less on the left
    wht[:, :4] = 0.0
    hit = rng.random(n_stars) < dipped
    if depth:
        angle = rng.uniform(0, 2 * np.pi, n_stars)
        for xi, yi, a in zip(x[hit], y[hit], angle[hit]):
            cx, cy = xi + 0.7 * np.cos(a), yi + 0.7 * np.sin(a)
            sl = np.s_[yi - 6:yi + 7, xi - 6:xi + 7]
            r2 = (xx[sl] - cx) ** 2 + (yy[sl] - cy) ** 2
            wht[sl] *= 1 - depth * np.exp(-r2 / (2 * 0.8 ** 2))
    for _ in range(cr_tracks):  # a cosmic ray removes one of three exposures on a track
        x0, y0 = rng.uniform(0, nx), rng.uniform(0, ny)
        length, a = rng.uniform(2, 15), rng.uniform(0, np.pi)
        t = np.linspace(0, length, int(length * 2) + 2)
        px = np.clip(np.rint(x0 + t * np.cos(a)).astype(int), 0, nx - 1)
        py = np.clip(np.rint(y0 + t * np.sin(a)).astype(int), 0, ny - 1)
        wht[py, px] *= 2.0 / 3.0
    drc = DrizzledImage(name="test_drc.fits", path="", sci=sci, wht=wht, ctx=None,
                        wcs=wcs or _simple_wcs(), header={"BUNIT": "ELECTRONS/S"})
    return drc, x, y, hit


def _threshold():
    return ThresholdTable.default().lookup("weight_imprint")


def _judge(drc, catalogs=()):
    (result,) = run_check(SPEC, Products(drc=drc, catalogs=tuple(catalogs)), _threshold(),
                          "test")
    return result


def _catalog(drc, x, y) -> SourceCatalog:
    ra, dec = drc.wcs.pixel_to_world_values(np.asarray(x, float), np.asarray(y, float))
    return SourceCatalog(image="visit_flc.fits", path="", ra=np.asarray(ra),
                         dec=np.asarray(dec))


# --- the five cases of the brief ---------------------------------------------------------

def test_no_imprint_passes(psf):
    drc, *_ = _scene(psf, 1)
    result = _judge(drc)
    assert result.status is Status.PASS
    assert result.observed == pytest.approx(1.0, abs=0.003)
    assert result.details["n_stars"] >= 150


def test_deep_imprints_fail(psf):
    """40% dips at the cores of 60% of the stars (a visit misaligned by ~1 px)."""
    drc, *_ = _scene(psf, 2, depth=0.4, dipped=0.6)
    result = _judge(drc)
    assert result.status is Status.FAIL
    assert result.observed < 0.93
    assert result.details["significant"] is True
    assert result.details["fraction_dipped"] > 0.4


def test_shallow_imprints_warn_at_least(psf):
    """4% dips at every star core."""
    drc, *_ = _scene(psf, 3, depth=0.04)
    result = _judge(drc)
    assert result.status in (Status.WARN, Status.FAIL)
    assert 0.97 < result.observed < 0.995


def test_cosmic_ray_tracks_away_from_stars_pass(psf):
    """3000 weight tracks at random places (8% of the pixels lose a third of their
    weight): the raw star ratios drop, but no more than at random places."""
    drc, *_ = _scene(psf, 4, cr_tracks=3000)
    result = _judge(drc)
    assert result.status is Status.PASS
    assert result.details["mean_ratio_random"] < 0.995  # the tracks are there
    assert result.observed == pytest.approx(1.0, abs=0.01)


def test_too_few_stars_is_skipped_with_the_reason(psf):
    drc, *_ = _scene(psf, 5, n_stars=8, depth=0.4)
    result = _judge(drc)
    assert result.status is Status.SKIP
    assert "not measurable" in result.message and "usable stars" in result.message
    assert "at least 20" in result.message


# --- star positions from catalogues through a real WCS -------------------------------------

@pytest.fixture(scope="module")
def real_wcs(real_data) -> WCS:
    """The real drizzled TAN WCS (rotated CD matrix) cut to SHAPE near its centre."""
    with fits.open(real_data / "headers" / "sample_drc_header.fits") as hdul:
        w = WCS(hdul["SCI"].header)
    sub = w[1800:1800 + SHAPE[0], 1800:1800 + SHAPE[1]]
    assert sub.wcs.ctype[0] == "RA---TAN" and sub.wcs.cd[0, 1] != 0
    return sub


def test_catalogue_positions_through_real_wcs(psf, real_wcs):
    drc, x, y, hit = _scene(psf, 6, depth=0.4, dipped=0.3, wcs=real_wcs)
    cat = _catalog(drc, x + 0.3, y - 0.2)  # sub-pixel catalogue offsets
    result = _judge(drc, [cat, _catalog(drc, x, y)])  # the same stars in two catalogues
    d = result.details
    assert d["star_source"] == "the TweakReg catalogues"
    assert result.status is Status.FAIL
    assert d["n_candidates"] <= len(x)  # duplicates merged
    # The listed worst dips are the injected ones.
    dipped = {(int(a), int(b)) for a, b in zip(x[hit], y[hit])}
    worst = list(zip(d["worst_x"], d["worst_y"]))[:50]
    assert sum((int(a), int(b)) in dipped for a, b in worst) >= 48
    # Round trip: pixel -> RA/Dec -> pixel with the real WCS.
    xp, yp = real_wcs.world_to_pixel_values(cat.ra, cat.dec)
    assert np.allclose(xp, x + 0.3, atol=1e-6) and np.allclose(yp, y - 0.2, atol=1e-6)


def test_catalogue_and_detection_agree(psf):
    drc, x, y, _ = _scene(psf, 7, depth=0.4, dipped=0.5)
    with_cat = _judge(drc, [_catalog(drc, x, y)])
    detected = _judge(drc)
    assert detected.details["star_source"] == "peaks detected in SCI"
    assert with_cat.status is detected.status is Status.FAIL
    assert with_cat.observed == pytest.approx(detected.observed, abs=0.02)


def test_catalogue_sources_off_the_image_or_empty_are_ignored(psf):
    drc, x, y, _ = _scene(psf, 8)
    far = SourceCatalog("far_flc.fits", "", ra=np.array([100.0]), dec=np.array([10.0]))
    empty = SourceCatalog("empty_flc.fits", "", ra=np.zeros(0), dec=np.zeros(0))
    assert _judge(drc, [_catalog(drc, x, y), far]).status is Status.PASS
    result = _judge(drc, [empty])
    assert result.status is Status.PASS and "empty" in result.details["star_source"]


# --- details, selection, registry ----------------------------------------------------------

def test_details_are_json_serialisable_and_capped(psf):
    drc, *_ = _scene(psf, 9, n_stars=600, depth=0.4)
    (m,) = weight_imprint(drc, max_positions=200)
    assert len(m.details["worst_x"]) == len(m.details["worst_y"]) <= 200
    result = _judge(drc)
    json.dumps(result.to_dict())
    assert all(isinstance(v, float) for v in result.details["worst_ratio"])


def test_saturated_and_faint_stars_are_not_used(psf):
    """Stars far above snr_max with zero-weight cores (saturation masked in every
    exposure) and stars below snr_min with dips do not count."""
    drc, x, y, _ = _scene(psf, 10, n_stars=200)
    sci, wht = drc.sci.copy(), drc.wht.copy()
    rng = np.random.default_rng(0)
    for xi, yi in zip(rng.integers(30, 600, 40), rng.integers(30, 570, 40)):
        sci[yi - 12:yi + 13, xi - 12:xi + 13] += 3e4 * psf
        wht[yi - 1:yi + 2, xi - 1:xi + 2] = 0.0
    drc2 = DrizzledImage(drc.name, "", sci, wht, None, drc.wcs, {})
    result = _judge(drc2)
    assert result.status is Status.PASS
    assert result.details["rejected_bright"] + result.details["rejected_no_weight"] >= 30


def test_weight_steps_are_not_imprints(psf):
    """Stars on the footprint step (weight 2/3 -> 1 at x = 213) are left out."""
    drc, *_ = _scene(psf, 11, n_stars=500)
    res = star_ratios(drc)
    assert not np.any(np.abs(res["x"] - SHAPE[1] // 3) < 3)
    assert _judge(drc).details["rejected_weight_step"] > 0


def test_find_peaks():
    img = np.zeros((50, 50))
    img[10, 12] = 5.0
    img[30, 40] = 3.0
    img[31, 40] = 2.0
    x, y = find_peaks(img, np.ones_like(img, bool), 1.0)
    assert sorted(zip(x.tolist(), y.tolist())) == [(12, 10), (40, 30)]


def test_registry_passes_catalogues_only_when_present(psf):
    drc, x, y, _ = _scene(psf, 12)
    assert SPEC.needs == ("drc",) and SPEC.optional == ("catalogs",)
    no_cat = _judge(drc, [])
    assert no_cat.details["star_source"] == "peaks detected in SCI"
    (skipped,) = run_check(SPEC, Products(), _threshold(), "test")
    assert skipped.status is Status.SKIP and "drc" in skipped.message


def test_no_stars_at_all(psf):
    drc, *_ = _scene(psf, 13, n_stars=0)
    result = _judge(drc)
    assert result.status is Status.SKIP and "only 0 usable stars" in result.message
