"""The synthetic ACS/WFC dataset generator (``fixtures.sources.synthetic``)."""
from __future__ import annotations

import contextlib
import shutil
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from scipy.spatial import cKDTree

from hst_align_qa.checks.absolute_astrometry import propagate, usable_gaia
from hst_align_qa.fixtures.sources import _headers, _render, _truth
from hst_align_qa.fixtures.sources import synthetic as S


def _generate(root: Path, **kw) -> S.SyntheticDataset:
    return S.generate(S.SyntheticSpec(**kw), root)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> S.SyntheticDataset:
    """The default dataset: seed 1, small, no fault."""
    return _generate(tmp_path_factory.mktemp("small"))


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    """``fault -> dataset`` for the faults that change the data (built on first use)."""
    made: dict[str, S.SyntheticDataset] = {}

    def get(fault: str) -> S.SyntheticDataset:
        if fault not in made:
            made[fault] = _generate(tmp_path_factory.mktemp(fault), fault=fault)
        return made[fault]
    return get


def _header_wcs(path: Path, ver: int) -> WCS:
    with fits.open(path) as h:
        return WCS(h["SCI", ver].header, h)


def _outputs(ds: S.SyntheticDataset) -> list[Path]:
    return [*ds.files, ds.stars_path, ds.stars_path.with_name("gaia.ecsv"), ds.truth_path]


# ---------------------------------------------------------------- spec and determinism

@pytest.mark.parametrize("kw", [{"size": "huge"}, {"fault": "shift2"}, {"n_visits": 1},
                                {"seed": -1}])
def test_spec_rejects_bad_values(kw):
    with pytest.raises(ValueError):
        S.SyntheticSpec(**kw)


def test_same_seed_same_bytes_other_seed_other_bytes(small, tmp_path):
    again = _generate(tmp_path / "again")
    for a, b in zip(_outputs(small), _outputs(again), strict=True):
        assert a.name == b.name and a.read_bytes() == b.read_bytes(), a.name
    other = _generate(tmp_path / "other", seed=2)
    for a, b in zip(small.files, other.files, strict=True):
        assert a.read_bytes() != b.read_bytes()


def test_only_complete_files_are_left(small):
    names = sorted(p.name for p in small.files[0].parent.iterdir())
    assert names == sorted(p.name for p in _outputs(small))  # no temporary leftovers
    assert [p.name for p in small.files] == ["jsyn01a1q_flc.fits", "jsyn02a1q_flc.fits",
                                             "jsyn03a1q_flc.fits"]
    assert small.post_align_shift is None and small.spec == S.SyntheticSpec()


# ---------------------------------------------------------------- file structure, headers

def test_layout_and_keywords_drizzlepac_needs(small):
    roots = set()
    for path in small.files:
        with fits.open(path, checksum=True) as h:  # checksums verify (warnings are errors)
            assert [(x.name, x.ver) for x in h[1:7]] == [
                ("SCI", 1), ("ERR", 1), ("DQ", 1), ("SCI", 2), ("ERR", 2), ("DQ", 2)]
            # the template's lookup tables (4 D2IMARR, 4 WCSDVARR), headerlets, WCSCORR
            assert [x.name for x in h[7:15]] == ["D2IMARR"] * 4 + ["WCSDVARR"] * 4
            assert "HDRLET" in h and "WCSCORR" in h
            p = h[0].header
            for key in ("TELESCOP", "INSTRUME", "DETECTOR", "EXPTIME", "EXPSTART", "EXPEND",
                        "DATE-OBS", "TIME-OBS", "PA_V3", "ASN_ID", "FILTER1", "FILTER2",
                        *(f"ATODGN{a}" for a in "ABCD"), *(f"READNSE{a}" for a in "ABCD")):
                assert key in p, key
            assert (p["TELESCOP"], p["INSTRUME"], p["DETECTOR"]) == ("HST", "ACS", "WFC")
            assert (p["TARGNAME"], p["FILTER1"], p["FILTER2"]) == ("NGC104", "F606W", "CLEAR2L")
            assert p["EXPTIME"] == 339.0 and p["EXPEND"] > p["EXPSTART"] > 50000
            assert p["FILENAME"] == path.name and p["ROOTNAME"] == path.name[:9]
            roots.add(p["ROOTNAME"])
            assert p["NEXTEND"] == len(h) - 1
            assert (p["D2IMFILE"], p["NPOLFILE"]) == ("jref$4bb15371j_d2i.fits",
                                                      "jref$4bb1536lj_npl.fits")
            for ver in (1, 2):
                sci, err, dq = h["SCI", ver], h["ERR", ver], h["DQ", ver]
                s = sci.header
                assert (s["BITPIX"], err.header["BITPIX"], dq.header["BITPIX"]) == (-32, -32, 16)
                assert sci.data.shape == err.data.shape == dq.data.shape == (512, 1024)
                assert s["EXPNAME"] == p["ROOTNAME"] and s["BUNIT"] == "ELECTRONS"
                assert s["NGOODPIX"] > 0 and s["MEANDARK"] > 0
                assert s["CTYPE1"] == "RA---TAN-SIP"
                # an a-posteriori WCS as MAST serves it, with drizzlepac's fit keywords
                assert s["WCSNAME"] == "IDC_4bb1536cj-FIT_IMG_GAIAeDR3"
                assert s["WCSTYPE"] == ("undistorted a posteriori solution aligned "
                                        "image-by-image to GAIAEDR3")
                assert 5.0 <= s["RMS_RA"] <= 9.0 and 5.0 <= s["RMS_DEC"] <= 9.0
                assert s["CRDER1"] == pytest.approx(s["RMS_RA"] / 3.6e6)
                assert s["NMATCHES"] >= 30 and s["FITGEOM"] == "rscale"
                assert all(f"CD{i}_{j}" in s for i in (1, 2) for j in (1, 2))
                assert s["WCSNAMEO"] == "OPUS"
                assert (s["D2IMDIS1"], s["CPDIS1"]) == ("Lookup", "Lookup")
                assert s["D2IM1.EXTVER"] == s["DP1.EXTVER"] == 2 * ver - 1
                assert np.isfinite(sci.data).all() and (err.data > 0).all()
    assert len(roots) == len(small.files)


def test_saturation_flagged_cosmic_rays_not(small):
    spec = small.spec
    exposures, centre, radius = S._geometry(spec)
    stars = S._catalogue(spec, exposures, centre, radius)
    _, crs = S._simulate(spec, exposures[0], stars)
    n_sat = 0
    with fits.open(small.files[0]) as h:
        for ver, cr in zip((1, 2), crs):
            sci, dq = h["SCI", ver].data, h["DQ", ver].data
            assert set(np.unique(dq)) <= {0, 256}
            sat = dq == 256
            n_sat += sat.sum()
            assert sci[sat].min() > _render.FULL_WELL - 50.0
            assert sci[~sat].max() < _render.FULL_WELL + 30.0
            hits = (cr > 200.0) & ~sat
            assert hits.sum() > 100  # cosmic rays present, left for AstroDrizzle to find
            assert (dq[hits] == 0).all()
            assert np.median(sci[hits]) > 200.0
    assert n_sat > 50  # bright stars saturate (and bleed along columns)


def test_truth_table(small):
    t = S.read_truth(small.truth_path)
    for col in ("image", "reference", "err_dx", "err_dy", "err_rot", "xsh", "ysh", "rot",
                "scale", "xsh_geom", "expect_nan", "n_common", "fault"):
        assert col in t.colnames
    assert list(t["image"]) == [p.name for p in small.files]
    assert list(t["reference"]) == [True, False, False]
    assert tuple(t[0]["xsh", "ysh", "rot", "scale"]) == (0.0, 0.0, 0.0, 1.0)
    assert not t["expect_nan"].any()
    assert ((t["rot"] >= 0) & (t["rot"] < 360)).all()
    assert np.allclose(t["scale"], 1.0, atol=1e-6)
    assert (np.hypot(t["xsh"], t["ysh"])[1:] > 0.3).all()  # a real misalignment to find
    assert (np.abs(t["xsh"]) < 8).all() and (np.abs(t["ysh"]) < 8).all()
    assert (t["n_common"][1:] > 500).all()
    assert t.meta["reference"] == small.files[0].name and t.meta["post_align_shift"] is None
    stars = Table.read(small.stars_path)
    assert {"id", "ra", "dec", "flux", "peak", "mag"} <= set(stars.colnames)
    assert len(stars) > 2000 and stars["flux"].min() >= 5.0 and stars["flux"].max() <= 5e4


def test_rscale_convention_matches_drizzlepac():
    # importing drizzlepac emits third-party deprecation warnings (pyparsing via stregion)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from drizzlepac import linearfit
    rng = np.random.default_rng(3)
    ref = rng.uniform(0, 1000, (200, 2))
    c = np.array([480.0, 510.0])
    a = np.deg2rad(0.01)
    m = 1.00002 * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    img = (ref - c) @ m.T + c + [1.25, -2.5] + rng.normal(0, 0.01, ref.shape)
    fit = linearfit.iter_fit_all(img.copy(), ref.copy(), np.arange(200), np.arange(200),
                                 mode="rscale", center=c, nclip=0)
    xsh, ysh, rot, scale = _truth.rscale_fit(img, ref, c)
    assert np.allclose([xsh, ysh], fit["offset"], atol=1e-9)
    assert rot == pytest.approx(fit["rot"], abs=1e-9) and scale == pytest.approx(fit["scale"][0])


# ---------------------------------------------------------------- geometry

def test_chips_adjacent_like_acs_wfc(small):
    t = S.read_truth(small.truth_path)
    for path, orient in zip(small.files, S.ORIENTS):
        for get in (lambda v: _header_wcs(path, v), lambda v: S.read_true_wcs(t, path.name, v)):
            w1, w2 = get(1), get(2)
            scale = np.sqrt(abs(np.linalg.det(w1.pixel_scale_matrix))) * 3600
            assert scale == pytest.approx(0.05, abs=0.002)
            # bottom row of SCI,2 (WFC1) lies ~50 px above the top row of SCI,1 (WFC2)
            x, y = w1.all_world2pix(w2.all_pix2world([[512.5, 1.0]], 1), 1)[0]
            assert 512 + 40 < y < 512 + 65 and abs(x - 512.5) < 10
        with fits.open(path) as h:
            assert h["SCI", 1].header["CCDCHIP"] == 2 and h["SCI", 2].header["CCDCHIP"] == 1
            assert h["SCI", 1].header["ORIENTAT"] == pytest.approx(orient, abs=0.5)


def test_header_wcs_is_wrong_by_the_injected_error(small):
    t = S.read_truth(small.truth_path)
    for row in t:
        true = S.read_true_wcs(t, row["image"], 1)
        hdr = _header_wcs(small.files[0].parent / row["image"], 1)
        # the pixel that truly sees what the header puts at the boresight
        bx, by = S.BORESIGHT_PIX[0] - 1536, S.BORESIGHT_PIX[1] - 1536
        x, y = true.all_world2pix(hdr.all_pix2world([[bx, by]], 1), 1)[0]
        assert x - bx == pytest.approx(row["err_dx"], abs=1e-4)
        assert y - by == pytest.approx(row["err_dy"], abs=1e-4)


def _windowed_centroid(sci, x, y, sigma=1.5, half=12):
    ix, iy = int(round(x)), int(round(y))
    box = sci[iy - half:iy + half + 1, ix - half:ix + half + 1].astype(float)
    yy, xx = np.mgrid[iy - half:iy + half + 1, ix - half:ix + half + 1]
    d = box - np.median(np.concatenate([box[0], box[-1], box[:, 0], box[:, -1]]))
    gx, gy = float(ix), float(iy)
    for _ in range(30):
        w = d * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * sigma ** 2))
        gx, gy = (w * xx).sum() / w.sum(), (w * yy).sum() / w.sum()
    return gx, gy


def test_stars_at_their_true_positions(small):
    t = S.read_truth(small.truth_path)
    stars = Table.read(small.stars_path)
    peak = np.asarray(stars["peak"]) * S.EXPTIME
    errors = []
    for path in small.files:
        for ver in (1, 2):
            sci = fits.getdata(path, ("SCI", ver))
            x, y = S.read_true_wcs(t, path.name, ver).all_world2pix(
                stars["ra"], stars["dec"], 0, tolerance=1e-10)
            tree = cKDTree(np.column_stack([x, y]))
            ok = (peak > 3000) & (peak < 40000) & (x > 20) & (x < 1003) & (y > 20) & (y < 491)
            for k in np.flatnonzero(ok):
                # no neighbour within the centroid's 25x25 box (1.4 stars/arcsec^2)
                if any(peak[n] > 0.005 * peak[k] for n in tree.query_ball_point(
                        [x[k], y[k]], 13) if n != k):
                    continue
                cx, cy = _windowed_centroid(sci, x[k], y[k])
                errors.append(np.hypot(cx - x[k], cy - y[k]))
    # isolated, bright, unsaturated stars; a few are hit by a cosmic ray
    assert len(errors) >= 30
    assert np.median(errors) < 0.015 and np.mean(np.array(errors) < 0.05) > 0.9


# ---------------------------------------------------------------- faults

def test_fault_nan_leaves_too_few_common_stars(faulty):
    ds = faulty("nan")
    t = S.read_truth(ds.truth_path)
    assert list(t["expect_nan"]) == [False, False, True]
    assert t["n_common"][2] < 15 and t["n_common"][1] > 500
    assert np.isnan(t["xsh"][2]) and np.isfinite(t["xsh_geom"][2])
    with fits.open(ds.files[2]) as h:  # the image itself is a normal, full exposure
        assert h[0].header["EXPTIME"] == S.EXPTIME and (h["DQ", 1].data == 256).any()


def test_fault_nooverlap_points_away(faulty):
    ds = faulty("nooverlap")
    t = S.read_truth(ds.truth_path)
    assert t["expect_nan"][2] and t["n_common"][2] == 0 and np.isnan(t["xsh_geom"][2])
    ref = [_header_wcs(ds.files[0], v) for v in (1, 2)]
    far = [_header_wcs(ds.files[2], v) for v in (1, 2)]
    for w in far:
        for r in ref:
            x, y = r.all_world2pix(w.calc_footprint(), 1).T
            assert ((x < -100) | (x > 1124) | (y < -100) | (y > 612)).all()
    assert (fits.getdata(ds.files[2], ("DQ", 1)) == 256).any()  # it has its own stars


def test_fault_skew_only_in_the_last_visits_true_geometry(faulty):
    ds = faulty("skew")
    t = S.read_truth(ds.truth_path)
    assert list(t["skew"]) == [0.0, 0.0, ds.spec.skew]
    for row, path in zip(t, ds.files):
        cd_true = S.read_true_wcs(t, row["image"], 1).wcs.cd
        # the linear map header -> truth, in the detector axes of SCI,1
        m = np.linalg.inv(_header_wcs(path, 1).wcs.cd) @ cd_true
        sym = 0.5 * (m[0, 1] + m[1, 0])  # a pure rotation has none
        assert sym == pytest.approx(row["skew"], abs=2e-6)


@pytest.mark.parametrize("fault, amount", [("shift0.25", 0.25), ("shift1", 1.0)])
def test_post_align_shift_faults_do_not_touch_the_data(small, tmp_path, fault, amount):
    ds = _generate(tmp_path, fault=fault)
    assert ds.post_align_shift == ("jsyn03a1q_flc.fits", amount, 0.0)
    assert S.read_truth(ds.truth_path).meta["post_align_shift"] == [ds.post_align_shift[0],
                                                                   amount, 0.0]
    for a, b in zip(ds.files, small.files, strict=True):
        assert a.read_bytes() == b.read_bytes()


# ---------------------------------------------------------------- the real TweakReg

def test_tweakreg_finds_the_expected_shifts(small, tmp_path, monkeypatch):
    """TweakReg (drizzlepac 3.11) recovers the truth table within 0.02 px."""
    monkeypatch.setenv("HOME", str(tmp_path))  # drizzlepac writes ~/.teal
    for p in small.files:
        shutil.copy(p, tmp_path / p.name)
    find = {"threshold": 20.0, "conv_width": 3.5, "peakmax": 50000.0, "dqbits": None}
    # third-party warnings (deprecations, FITS VerifyWarning on IDCSCALEO) are not
    # what this test is about
    with warnings.catch_warnings(), contextlib.chdir(tmp_path):
        warnings.simplefilter("ignore")
        from drizzlepac import tweakreg
        tweakreg.TweakReg([p.name for p in small.files], imagefindcfg=find,
                          refimagefindcfg=find, shiftfile=True, outshifts="shifts.txt",
                          updatehdr=False, interactive=False, searchunits="pixels",
                          searchrad=10, fitgeometry="rscale", minobj=15, updatewcs=False,
                          see2dplot=False, residplot="No plot", writecat=False, clean=True)
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]]
            for line in (tmp_path / "shifts.txt").read_text().splitlines()
            if not line.startswith("#")}
    t = S.read_truth(small.truth_path)
    for r in t:
        xsh, ysh, rot, scale, xrms, yrms = rows[r["image"]]
        assert abs(xsh - r["xsh"]) < 0.02 and abs(ysh - r["ysh"]) < 0.02, r["image"]
        assert abs((rot - r["rot"] + 180) % 360 - 180) < 0.002
        assert max(xrms, yrms) < 0.05
    hdr = fits.getheader(tmp_path / "shifts_wcs.fits", 1)  # TweakReg's frame = ours
    ref = t.meta["refwcs"]
    assert [hdr["CRPIX1"], hdr["CRPIX2"]] == pytest.approx(ref["crpix"], abs=1e-9)
    assert [hdr["CRVAL1"], hdr["CRVAL2"]] == pytest.approx(ref["crval"], abs=1e-10)
    pc = np.array([[hdr["PC1_1"], hdr["PC1_2"]], [hdr["PC2_1"], hdr["PC2_2"]]])
    assert np.allclose(pc * [[hdr["CDELT1"]], [hdr["CDELT2"]]], ref["cd"], atol=1e-13)


def test_template_is_not_modified():
    before = _headers.template_path().read_bytes()
    _headers.template_headers.cache_clear()
    _headers.template_headers()
    assert _headers.template_path().read_bytes() == before


# ---------------------------------------------------------------- Gaia truth

def test_reference_visit_claiming_gaia_is_within_a_fit_zero_point(small):
    """The reference holds the Gaia frame it claims (absolute_astrometry); the other
    visits keep pointing errors for TweakReg to find."""
    t = S.read_truth(small.truth_path)
    assert abs(t[0]["err_dx"]) <= S.REF_ERR_PX and abs(t[0]["err_dy"]) <= S.REF_ERR_PX
    assert (np.hypot(t["err_dx"], t["err_dy"])[1:] >= 0.5).all()


def test_gaia_catalog_is_the_truth_at_2016(small):
    gaia = Table.read(small.stars_path.with_name("gaia.ecsv"))
    stars = Table.read(small.stars_path)
    assert {"ra", "dec", "pmra", "pmdec", "parallax", "ruwe", "phot_g_mean_mag",
            "ref_epoch"} <= set(gaia.colnames)
    assert 300 < len(gaia) < len(stars) and (gaia["ref_epoch"] == 2016.0).all()
    keep, counts = usable_gaia(gaia, 1.4)
    assert counts["dropped_no_pm"] > 0 and counts["dropped_ruwe"] > 0
    t = S.read_truth(small.truth_path)
    # the reference's epoch: positions propagated there are the true ones within errors
    mjd = float(fits.getheader(small.files[0])["EXPSTART"])
    now = propagate(gaia, keep, mjd)
    true = SkyCoord(np.asarray(stars["ra"]) * u.deg, np.asarray(stars["dec"]) * u.deg)
    idx = np.searchsorted(np.asarray(stars["id"]), np.asarray(gaia["star_id"])[keep])
    sep = now.separation(true[idx]).to_value(u.mas)
    # per axis: the position error at 2016 and the proper-motion error over ~3 years
    err = np.hypot(np.asarray(gaia["ra_error"]), 3.0 * np.asarray(gaia["pmra_error"]))[keep]
    assert np.median(sep / err) < 2.0  # a 2-D offset: its median is 1.18 sigma
    assert t.meta["spec"]["fault"] is None


def test_gaia_faults():
    clean = S.gaia_table(S.SyntheticSpec())
    pm = S.gaia_table(S.SyntheticSpec(fault="pm"))
    assert np.nanmedian(clean["pmra"]) == pytest.approx(0.0, abs=0.2)
    assert np.nanmedian(pm["pmra"]) == pytest.approx(35.0, abs=1.0)
    assert np.nanmedian(pm["pmdec"]) == pytest.approx(-45.0, abs=1.0)
    # another field of the same sky: a Gaia cache keyed by field keeps both
    assert abs(np.median(pm["dec"]) - np.median(clean["dec"])) > 0.4
