"""Tests of checks.visit_registration on single-drizzled-like arrays with known offsets.

Stars are drizzlepac's ACS/WFC F606W PSF (central 25x25, renormalised), placed at random
sub-pixel positions by cubic-spline shifts, on a noisy sky; three "single" images of the
same field, one of them optionally moved by a known (dx, dy).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from scipy import ndimage

from hst_align_qa.checks.products import Products, SingleDrizzled, SourceCatalog
from hst_align_qa.checks.readers import ProductReadError, find_products, load_products, read_single
from hst_align_qa.checks.registry import discover, run_check, spec_of
from hst_align_qa.checks.result import Status
from hst_align_qa.checks.thresholds import ThresholdTable
from hst_align_qa.checks.visit_registration import visit_registration

SPEC = spec_of(visit_registration)
SHAPE = (360, 400)
DIRECTION = np.array([0.8, -0.6])  # unit vector of the applied shifts




def _wcs() -> WCS:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [6.0, -72.0]
    w.wcs.crpix = [SHAPE[1] / 2, SHAPE[0] / 2]
    w.wcs.cd = [[-1.39e-5, 0.0], [0.0, 1.39e-5]]
    return w


def _scene(psf, *, seed=0, n_stars=250, shifts=((0, 0), (0, 0), (0, 0)), crs=0,
           masks=None):
    """Single images of one star field; visit ``i`` moved by ``shifts[i]`` (px).

    Returns the singles and the true star positions. ``crs`` cosmic-ray hits per image
    (1-3 pixel clusters, 5-200 times a faint star's peak); ``masks[i]`` is a boolean
    array of pixels that visit ``i`` does not cover (set to 0)."""
    rng = np.random.default_rng(seed)
    ny, nx = SHAPE
    x = rng.uniform(15, nx - 15, n_stars)
    y = rng.uniform(15, ny - 15, n_stars)
    flux = np.exp(rng.uniform(np.log(3.0), np.log(60.0), n_stars))
    singles = []
    for i, (sx, sy) in enumerate(shifts):
        img = rng.normal(0.0, 0.01, SHAPE)
        for xi, yi, f in zip(x + sx, y + sy, flux):
            ix, iy = int(round(xi)), int(round(yi))
            stamp = ndimage.shift(psf, (yi - iy, xi - ix), order=3, mode="constant")
            img[iy - 12:iy + 13, ix - 12:ix + 13] += f * stamp
        for _ in range(crs):
            cx, cy = rng.integers(0, nx - 2), rng.integers(0, ny - 2)
            img[cy:cy + rng.integers(1, 3), cx:cx + rng.integers(1, 3)] += rng.uniform(0.3, 10)
        if masks is not None and masks[i] is not None:
            img[masks[i]] = 0.0
        img = img.astype(np.float32)
        img.flags.writeable = False
        root = f"jvis0{i + 1}q"
        singles.append(SingleDrizzled(name=f"{root}_single_sci.fits", path="",
                                      rootname=root, sci=img, wcs=_wcs()))
    return tuple(singles), x, y


def _catalog(x, y):
    ra, dec = _wcs().pixel_to_world_values(x, y)
    return (SourceCatalog(image="jvis01q_flc.fits", path="", ra=np.asarray(ra),
                          dec=np.asarray(dec)),)


def _judge(singles, catalogs=()):
    threshold = ThresholdTable.default().lookup("visit_registration")
    results = run_check(SPEC, Products(single=singles, catalogs=tuple(catalogs)),
                        threshold, "test")
    return {r.subject: r for r in results}


@pytest.mark.parametrize("size, status", [(0.25, Status.FAIL), (0.5, Status.FAIL),
                                          (1.0, Status.FAIL), (0.07, Status.WARN)])
def test_shifted_visit_is_measured_and_judged(psf, size, status):
    dx, dy = size * DIRECTION
    singles, x, y = _scene(psf, shifts=((0, 0), (0, 0), (dx, dy)))
    res = _judge(singles, _catalog(x, y))
    bad = res["jvis03q"]
    assert bad.details["dx"] == pytest.approx(dx, abs=0.02)
    assert bad.details["dy"] == pytest.approx(dy, abs=0.02)
    assert bad.observed == pytest.approx(size, abs=0.02)
    assert bad.status is status, bad.message
    for good in ("jvis01q", "jvis02q"):
        assert res[good].observed < 0.02
        assert res[good].status is Status.PASS, res[good].message
    assert bad.details["n_stars"] >= 100 and bad.details["stderr"] < 0.01


def test_aligned_visits_pass_without_catalogues(psf):
    singles, _, _ = _scene(psf, seed=3)
    res = _judge(singles)  # stars detected in the median of the singles
    assert set(res) == {"jvis01q", "jvis02q", "jvis03q"}
    for r in res.values():
        assert r.status is Status.PASS, r.message
        assert r.observed < 0.01
        assert "median of the single images" in r.details["reference_image"]


def test_cosmic_rays_do_not_bias(psf):
    dx, dy = 0.5 * DIRECTION
    singles, x, y = _scene(psf, seed=5, shifts=((0, 0), (0, 0), (dx, dy)), crs=1500)
    res = _judge(singles, _catalog(x, y))
    assert res["jvis03q"].details["dx"] == pytest.approx(dx, abs=0.02)
    assert res["jvis03q"].details["dy"] == pytest.approx(dy, abs=0.02)
    assert res["jvis01q"].observed < 0.02 and res["jvis02q"].observed < 0.02
    assert res["jvis01q"].status is Status.PASS


def test_partial_coverage_and_chip_gap(psf):
    """Visit 3 covers only the left half; visit 1 has a chip gap of NaN."""
    dx, dy = 0.25 * DIRECTION
    ny, nx = SHAPE
    half = np.zeros(SHAPE, bool)
    half[:, nx // 2:] = True
    singles, x, y = _scene(psf, seed=7, shifts=((0, 0), (0, 0), (dx, dy)),
                           masks=(None, None, half))
    gap = singles[0].sci.copy()
    gap[ny // 2 - 3:ny // 2 + 3, :] = np.nan
    singles = (SingleDrizzled(name=singles[0].name, path="", rootname=singles[0].rootname,
                              sci=gap, wcs=_wcs()), *singles[1:])
    res = _judge(singles, _catalog(x, y))
    bad = res["jvis03q"]
    assert bad.details["dx"] == pytest.approx(dx, abs=0.02)
    assert bad.details["dy"] == pytest.approx(dy, abs=0.02)
    assert bad.status is Status.FAIL
    assert bad.details["n_stars"] < 0.7 * res["jvis02q"].details["n_stars"]
    assert res["jvis01q"].status is Status.PASS and res["jvis02q"].status is Status.PASS


def test_two_visits_report_the_full_relative_offset(psf):
    dx, dy = 0.5 * DIRECTION
    singles, x, y = _scene(psf, seed=9, shifts=((0, 0), (dx, dy)))
    res = _judge(singles, _catalog(x, y))
    assert res["jvis02q"].details["dx"] == pytest.approx(dx, abs=0.02)
    assert res["jvis01q"].details["dx"] == pytest.approx(-dx, abs=0.02)
    assert {r.status for r in res.values()} == {Status.FAIL}
    assert "other single image" in res["jvis01q"].details["reference"]


def test_too_few_stars_is_skipped_with_reason(psf):
    singles, x, y = _scene(psf, seed=11, n_stars=6)
    res = _judge(singles, _catalog(x, y))
    for r in res.values():
        assert r.status is Status.SKIP
        assert "not measurable" in r.message and "at least 10" in r.message


def test_one_single_image_is_skipped(psf):
    singles, _, _ = _scene(psf, n_stars=20, shifts=((0, 0),))
    (r,) = _judge(singles).values()
    assert r.status is Status.SKIP and "at least two" in r.message


def test_no_singles_is_not_applicable():
    threshold = ThresholdTable.default().lookup("visit_registration")
    (r,) = run_check(SPEC, Products(), threshold, "test")
    assert r.status is Status.SKIP and "single" in r.message


def test_registered_and_thresholds():
    assert "visit_registration" in {s.name for s in discover()}
    assert SPEC.needs == ("single",) and SPEC.optional == ("catalogs", "drc")
    t = ThresholdTable.default().lookup("visit_registration")
    assert t.warn == 0.05 and t.fail == 0.1 and t.unit == "pix"


def _write_single(path: Path, data: np.ndarray) -> None:
    hdu = fits.PrimaryHDU(data.astype(np.float32), header=_wcs().to_header())
    hdu.header["ROOTNAME"] = path.name  # as AstroDrizzle writes it
    hdu.writeto(path)


def test_reader_finds_and_maps_singles(tmp_path):
    data = np.arange(SHAPE[0] * SHAPE[1], dtype=float).reshape(SHAPE)
    for root in ("jab02q", "jab01q"):
        _write_single(tmp_path / f"{root}_single_sci.fits", data)
    (tmp_path / "jab01q_single_wht.fits").write_bytes(b"")  # not a single_sci
    paths = find_products(tmp_path)
    assert [Path(p).name for p in paths.singles] == ["jab01q_single_sci.fits",
                                                     "jab02q_single_sci.fits"]
    products = load_products(paths)
    assert [s.rootname for s in products.single] == ["jab01q", "jab02q"]
    s = products.single[0]
    assert s.sci.shape == SHAPE and not s.sci.flags.writeable
    assert isinstance(s.sci, np.memmap)
    np.testing.assert_array_equal(s.sci, data.astype(np.float32))
    x, y = s.wcs.world_to_pixel_values(*_wcs().pixel_to_world_values(10.0, 20.0))
    assert (float(x), float(y)) == pytest.approx((10.0, 20.0))


def test_reader_errors_name_the_file(tmp_path):
    bad = tmp_path / "jab03q_single_sci.fits"
    bad.write_text("not a FITS file")
    with pytest.raises(ProductReadError, match="jab03q_single_sci.fits"):
        read_single(bad)
    empty = tmp_path / "jab04q_single_sci.fits"
    fits.PrimaryHDU().writeto(empty)
    with pytest.raises(ProductReadError, match="jab04q_single_sci.fits.*no 2-D image"):
        read_single(empty)
    # in a products directory they are named, not raised: only visit_registration
    # (which needs the singles) is affected
    products = load_products(find_products(tmp_path))
    assert products.single == ()
    assert products.unreadable["single"].startswith("jab03q_single_sci.fits")
    assert products.unreadable["single"].endswith("(and 1 more)")

