"""The synthetic generator's WFC3/UVIS and WFC3/IR datasets, and the 'mixedframe' fault."""
from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from hst_align_qa.fixtures.config.datasets import Dataset, load_manifest
from hst_align_qa.fixtures.config.profiles import apply_profile, load_profiles, profile_for
from hst_align_qa.fixtures.sources import _detectors, _headers, _render
from hst_align_qa.fixtures.sources import synthetic as S

UVIS, IR = "WFC3/UVIS", "WFC3/IR"


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """``(detector, fault) -> dataset`` (small, seed 1), built on first use."""
    cache: dict[tuple[str, str | None], S.SyntheticDataset] = {}

    def get(det: str, fault: str | None = None) -> S.SyntheticDataset:
        if (det, fault) not in cache:
            root = tmp_path_factory.mktemp(f"{det.replace('/', '_')}-{fault}")
            cache[det, fault] = S.generate(S.SyntheticSpec(detector=det, fault=fault), root)
        return cache[det, fault]
    return get


def _wcs(path, ver: int) -> WCS:
    with fits.open(path) as h:
        return WCS(h["SCI", ver].header, h)


# ---------------------------------------------------------------- spec

def test_spec_knows_three_detectors_and_their_sizes():
    assert S.DETECTORS == ("ACS/WFC", UVIS, IR)
    assert S.SyntheticSpec().detector == "ACS/WFC"
    with pytest.raises(ValueError, match="detector must be one of"):
        S.SyntheticSpec(detector="WFC3/XX")
    with pytest.raises(ValueError, match="size must be one of"):
        S.SyntheticSpec(detector=IR, size="huge")
    assert _detectors.detector(UVIS).sizes == {"small": (1024, 512), "full": (4096, 2051)}
    assert _detectors.detector(IR).sizes == {"small": (512, 512), "full": (1014, 1014)}
    # the ACS/WFC form of a spec (files, truth) does not name the detector
    assert "detector" not in S.spec_dict(S.SyntheticSpec())
    assert S.spec_dict(S.SyntheticSpec(detector=IR))["detector"] == IR


# ---------------------------------------------------------------- WFC3/UVIS

def test_uvis_layout_units_and_kept_extensions(made):
    ds = made(UVIS)
    assert [p.name for p in ds.files] == ["isyn01a1q_flc.fits", "isyn02a1q_flc.fits",
                                          "isyn03a1q_flc.fits"]
    template = _headers.template_path("sample_svm_flc.fits")
    with fits.open(template) as t:
        kept = sorted((h.name, h.ver) for h in t[7:])
    for path in ds.files:
        with fits.open(path, checksum=True) as h:
            p = h[0].header
            assert (p["INSTRUME"], p["DETECTOR"], p["FILTER"]) == ("WFC3", "UVIS", "F555W")
            assert p["EXPTIME"] == pytest.approx(170.0) and p["NEXTEND"] == len(h) - 1
            assert p["D2IMFILE"] != "N/A" and p["NPOLFILE"] != "N/A"
            assert [(x.name, x.ver) for x in h[1:7]] == [
                ("SCI", 1), ("ERR", 1), ("DQ", 1), ("SCI", 2), ("ERR", 2), ("DQ", 2)]
            assert sorted((x.name, x.ver) for x in h[7:]) == kept
            for ver, ccd in ((1, 2), (2, 1)):
                s = h["SCI", ver].header
                assert s["CCDCHIP"] == ccd and s["BUNIT"] == "ELECTRONS"
                assert h["SCI", ver].data.shape == (512, 1024)
                assert s["WCSNAME"] == "IDC_2731450pi" and s["CTYPE1"] == "RA---TAN-SIP"
                assert s["D2IMDIS1"] == "LOOKUP" and s["CPDIS1"] == "LOOKUP"
                w = _wcs(path, ver)
                assert w.det2im1 is not None and w.cpdis1 is not None
                scale = np.sqrt(abs(np.linalg.det(w.pixel_scale_matrix))) * 3600
                assert scale == pytest.approx(0.0396, abs=0.001)
            # the tables of a sub-array read the full frame: CRVAL moved by LTV
            d2im = h["D2IMARR", 1].header
            with fits.open(template) as t:
                assert d2im["CRVAL2"] == pytest.approx(
                    t["D2IMARR", 1].header["CRVAL2"] + h["SCI", 1].header["LTV2"])


def test_uvis_saturation_at_the_uvis_full_well_and_cosmic_rays_unflagged(made):
    ds = made(UVIS)
    spec = ds.spec
    exposures, centre, radius = S._geometry(spec)
    stars = S._catalogue(spec, exposures, centre, radius)
    _, crs = S._simulate(spec, exposures[0], stars)
    full_well = _detectors.detector(UVIS).full_well
    assert 63000.0 <= full_well <= 72000.0
    with fits.open(ds.files[0]) as h:
        for ver, cr in zip((1, 2), crs):
            sci, dq = h["SCI", ver].data, h["DQ", ver].data
            assert set(np.unique(dq)) <= {0, 256}
            assert sci[~(dq == 256)].max() < full_well + 30.0
            hits = (cr > 200.0) & (dq == 0)
            assert hits.sum() > 30 and (dq[hits] == 0).all()


@pytest.mark.parametrize("det", ["ACS/WFC", UVIS])
def test_stars_placed_through_the_lookup_tables(made, det):
    """Bright isolated stars sit where SIP + D2IM + NPOL (the file's full WCS) put them."""
    ds = made(det)
    t = S.read_truth(ds.truth_path)
    stars = Table.read(ds.stars_path)
    peak = np.asarray(stars["peak"]) * _detectors.detector(det).exptime
    path = ds.files[0]
    sci = fits.getdata(path, ("SCI", 1))
    true = S.read_true_wcs(t, path.name, 1)
    assert true.det2im1 is not None and true.cpdis1 is not None  # the truth keeps them
    chip = _headers.ChipWCS.from_dict(t.meta["true_wcs"][path.name][0])
    ra, dec = np.asarray(stars["ra"]), np.asarray(stars["dec"])
    x, y = true.all_world2pix(ra, dec, 0, tolerance=1e-8, quiet=True)
    sip_only = WCS(chip.astropy().to_header(relax=True))  # the header: SIP, no tables
    assert sip_only.det2im1 is None and sip_only.sip is not None
    xs, ys = sip_only.all_world2pix(ra, dec, 0, tolerance=1e-8, quiet=True)
    on = (x > 0) & (x < 1023) & (y > 0) & (y < 511)
    assert np.abs(np.hypot(x - xs, y - ys)[on]).max() > 0.005  # the tables move stars
    ok = on & (peak > 2000) & (peak < 30000) & (x > 15) & (x < 1008) & (y > 15) & (y < 496)
    errs = []
    for k in np.flatnonzero(ok)[:300]:
        ix, iy = int(round(x[k])), int(round(y[k]))
        if (np.hypot(x - x[k], y - y[k]) < 12).sum() > 1:
            continue  # a neighbour
        box = sci[iy - 4:iy + 5, ix - 4:ix + 5].astype(float)
        box = box - np.median(sci[iy - 12:iy + 13, ix - 12:ix + 13])
        yy, xx = np.mgrid[iy - 4:iy + 5, ix - 4:ix + 5]
        cx, cy = (box * xx).sum() / box.sum(), (box * yy).sum() / box.sum()
        errs.append(np.hypot(cx - x[k], cy - y[k]))
    assert len(errs) >= 15
    assert np.median(errs) < 0.05


def test_uvis_truth_and_determinism(made, tmp_path):
    ds = made(UVIS)
    t = S.read_truth(ds.truth_path)
    assert list(t["reference"]) == [True, False, False]
    assert (np.hypot(t["xsh"], t["ysh"])[1:] > 0.3).all() and (t["n_common"][1:] > 500).all()
    assert t.meta["spec"]["detector"] == UVIS
    assert set(t.meta["wcsname"].values()) == {"IDC_2731450pi"}
    again = S.generate(S.SyntheticSpec(detector=UVIS), tmp_path)
    for a, b in zip([*ds.files, ds.truth_path, ds.stars_path],
                    [*again.files, again.truth_path, again.stars_path], strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


# ---------------------------------------------------------------- WFC3/IR

def test_ir_count_rates_samp_time_no_cosmic_rays(made):
    ds = made(IR)
    assert [p.name for p in ds.files] == ["isyn01b1q_flt.fits", "isyn02b1q_flt.fits",
                                          "isyn03b1q_flt.fits"]
    det = _detectors.detector(IR)
    for path in ds.files:
        with fits.open(path, checksum=True) as h:
            p = h[0].header
            assert (p["INSTRUME"], p["DETECTOR"], p["FILTER"]) == ("WFC3", "IR", "F110W")
            assert [(x.name, x.ver) for x in h[1:6]] == [
                ("SCI", 1), ("ERR", 1), ("DQ", 1), ("SAMP", 1), ("TIME", 1)]
            assert "D2IMARR" not in h and "WCSDVARR" not in h and "HDRLET" in h
            assert "WCSCORR" in h and p["NEXTEND"] == len(h) - 1
            s = h["SCI", 1].header
            assert s["BUNIT"] == "ELECTRONS/S" and s["WCSNAME"] == "IDC_w3m18525i"
            sci, err, dq = (h[e, 1].data for e in ("SCI", "ERR", "DQ"))
            samp, time = h["SAMP", 1].data, h["TIME", 1].data
            assert sci.shape == samp.shape == time.shape == (512, 512)
            assert (samp.dtype.kind, samp.dtype.itemsize, time.dtype.kind) == ("i", 2, "f")
            # count rates: the sky is ~0.6-1.2 e-/s, not hundreds of electrons
            assert 0.5 < np.median(sci) < 1.3 and (err > 0).all()
            good = dq == 0
            assert (samp[good] == 14).all()
            assert np.allclose(time[good], det.exptime, rtol=1e-4)
            sat = dq == 256
            assert sat.any() and (time[sat] < det.exptime).all() and (samp[sat] < 14).all()
            scale = np.sqrt(abs(np.linalg.det(_wcs(path, 1).pixel_scale_matrix))) * 3600
            assert scale == pytest.approx(0.1283, abs=0.002)


def test_ir_ramp_keeps_the_rate_of_saturated_pixels():
    rng = np.random.default_rng(0)
    stars = np.zeros((4, 4))
    stars[1, 1] = 2.0e6  # e- over the exposure: saturates in the first reads
    sci, err, sat, samp, time = _render.expose_ramp(rng, stars, 500.0, 0.03, 699.232483,
                                                    12.0, 78000.0)
    rate = (2.0e6 + 500.0) / 699.232483
    assert sat[1, 1] and not sat[0, 0] and samp[1, 1] < samp[0, 0] == 14
    assert sci[1, 1] == pytest.approx(rate, rel=0.05) and time[1, 1] < 30.0


def test_ir_nan_fault_and_truth(made):
    ds = made(IR, "nan")
    t = S.read_truth(ds.truth_path)
    assert list(t["expect_nan"]) == [False, False, True]
    assert t["n_common"][2] < 15 and t["n_common"][1] > 500 and np.isnan(t["xsh"][2])


# ---------------------------------------------------------------- faults

@pytest.mark.parametrize("det", [UVIS, IR])
def test_shift1_leaves_the_data_alone(made, det, tmp_path):
    ds = S.generate(S.SyntheticSpec(detector=det, fault="shift1"), tmp_path)
    assert ds.post_align_shift == (ds.files[2].name, 1.0, 0.0)
    for a, b in zip(ds.files, made(det).files, strict=True):
        assert a.read_bytes() == b.read_bytes()


# ACS/WFC files carry an a-posteriori WCS: its WCSTYPE and HDRNAME follow the name
@pytest.mark.parametrize("det, idc, name, renamed", [
    ("ACS/WFC", "IDC_4bb1536cj", "IDC_4bb1536cj-FIT_IMG_GAIAeDR3", {"WCSTYPE", "HDRNAME"}),
    (UVIS, "IDC_2731450pi", "IDC_2731450pi", set()), (IR, "IDC_w3m18525i", "IDC_w3m18525i", set())])
def test_mixedframe_renames_only_the_last_visits_frame(made, det, idc, name, renamed):
    clean, mixed = made(det), made(det, "mixedframe")
    for a, b in zip(clean.files[:2], mixed.files[:2], strict=True):
        assert a.read_bytes() == b.read_bytes()
    names = [fits.getheader(p, ("SCI", 1))["WCSNAME"] for p in mixed.files]
    assert names == [name, name, f"{idc}-FIT_REL_GAIADR1"]
    with fits.open(clean.files[2]) as a, fits.open(mixed.files[2]) as b:
        for ha, hb in zip(a, b, strict=True):
            if ha.data is not None and ha.is_image:
                assert np.array_equal(ha.data, hb.data)
            diff = {k for k in set(ha.header) | set(hb.header)
                    if ha.header.get(k) != hb.header.get(k)}
            assert diff <= {"WCSNAME", "CHECKSUM"} | renamed
    t = S.read_truth(mixed.truth_path)
    faults = [str(v) for v in np.ma.filled(t["fault"], "")]  # ECSV reads "" as masked
    assert faults == ["", "", "mixedframe"] and not t["expect_nan"].any()
    assert t.meta["wcsname"][mixed.files[2].name] == f"{idc}-FIT_REL_GAIADR1"


# ---------------------------------------------------------------- manifest, profiles

def test_manifest_has_the_wfc3_datasets(pytestconfig):
    m = load_manifest(pytestconfig.rootpath / "qa" / "datasets.toml")
    for name, det in (("synthetic-uvis-small", UVIS), ("synthetic-ir-small", IR)):
        for suffix, fault in (("small", None), ("shift1", "shift1"), ("nan", "nan"),
                              ("mixedframe", "mixedframe")):
            ds = m.get(name.replace("small", suffix))
            assert ds.synthetic["detector"] == det and ds.synthetic.get("fault") == fault
            assert isinstance(ds.tweakreg["searchrad"], int)
        assert m.get(name.replace("small", "full")).imagefind["threshold"] == "auto"
    assert m.get("synthetic-mixedframe").synthetic["fault"] == "mixedframe"
    S.SyntheticSpec(**m.get("synthetic-ir-full").synthetic)  # a valid spec


def test_wfc3_profiles_through_the_instrument_and_detector_keywords(made):
    profiles = load_profiles()
    assert profiles[UVIS].plate_scale == 0.0396 and profiles[IR].plate_scale == 0.1283
    for det, cw in ((UVIS, 3.5), (IR, 2.5)):
        with fits.open(made(det).files[0]) as h:  # as the runner reads an --input-dir
            prof = profile_for(h[0].header["INSTRUME"], h[0].header["DETECTOR"], "x.fits")
        assert prof.name == det and prof.imagefind["conv_width"] == cw
        assert prof.imagefind["threshold"] == "auto" and prof.mdriztab is False
        assert isinstance(prof.tweakreg["searchrad"], int)
        merged, line = apply_profile(Dataset(name="mine", source="local"), prof)
        assert merged.astrodrizzle["final_bits"] and line.startswith(f"{det} (")
    assert "peakmax" not in profiles[IR].imagefind  # count rates
    assert profiles[IR].astrodrizzle["driz_cr_snr"] == "5.0 4.0"
