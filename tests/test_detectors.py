"""Detector facts, scales measured from real match files, and levels stated in mas."""
from __future__ import annotations

import pytest

from hst_align_qa.checks.detectors import detector, detectors, nearest_detector
from hst_align_qa.checks.frames import fit_frame_scale, input_scale
from hst_align_qa.checks.readers import read_fit_matches
from hst_align_qa.checks.registry import check, run_check, spec_of
from hst_align_qa.checks.result import Measurement, Status
from hst_align_qa.checks.thresholds import ThresholdError, ThresholdLayer, ThresholdTable


def test_every_detector_has_a_scale_and_a_source():
    for d in detectors().values():
        assert 0.02 < d.plate_scale < 0.2 and d.note
    assert detector("wfc3", "uvis").plate_scale == 0.0396
    assert detector("ACS", None) is None


@pytest.mark.parametrize("scale,name", [(0.0396, "WFC3/UVIS"), (0.036, "WFC3/UVIS"),
                                        (0.0495, "ACS/WFC"), (0.128, "WFC3/IR"),
                                        (0.0996, "WFPC2/WF"), (0.025, None), (0.08, None),
                                        (float("nan"), None)])
def test_nearest_detector(scale, name):
    got = nearest_detector(scale)
    assert (got.name if got else None) == name


@pytest.mark.parametrize("folder,image,frame,scale", [
    # UVIS tiles fitted in the 0.08"/px frame of an F160W mosaic (align_mosaics)
    ("align_mosaics", "ick905k5q_flc", 0.0800, 0.0396),
    ("align_mosaics", "ick901hzq_flt", 0.1283, 0.1283),  # IR tiles in an IR frame
    ("align_to_catalogs", "ibwb01xqq_flc", 0.0396, 0.0396),
    ("align_sparse_fields", "j8xi0xs0q_flc", 0.0500, 0.0500)])
def test_scales_measured_from_real_match_files(real_data, folder, image, frame, scale):
    fm = read_fit_matches(real_data / "tweakreg_runs" / folder / f"{image}_catalog_fit.match")
    assert fit_frame_scale(fm) == pytest.approx(frame, rel=0.002)
    assert input_scale(fm) == pytest.approx(scale, rel=0.02)  # raw pixels: distortion


def test_levels_in_mas_become_pixels_of_the_detector():
    table = ThresholdTable.default()
    uvis = table.lookup("fit_rms", instrument="WFC3", detector="UVIS")
    assert uvis.warn == pytest.approx(0.004 / 0.0396) and uvis.fail == pytest.approx(0.02 / 0.0396)
    assert uvis.stated == {"unit": "mas", "warn": 4.0, "fail": 20.0, "plate_scale": 0.0396,
                           "detector": "WFC3/UVIS"}
    assert "(4 mas)" in uvis.describe() and "WFC3/UVIS" in uvis.describe()
    acs = table.lookup("fit_rms", instrument="ACS", detector="WFC")
    assert (acs.warn, acs.fail) == pytest.approx((0.05, 0.1))
    # a user's pixel level for UVIS replaces the stated one: no stale "(4 mas)"
    user = table.with_layer(ThresholdLayer.from_mapping(
        "mine.toml", {"fit_rms": {"by_detector": {"WFC3/UVIS": {"warn": 0.2}}}}))
    mine = user.lookup("fit_rms", instrument="WFC3", detector="UVIS")
    assert mine.warn == 0.2 and "warn" not in mine.stated and mine.stated["fail"] == 20.0


def test_angle_levels_need_a_pixel_check_and_a_known_detector():
    bad = ThresholdTable.default(ThresholdLayer.from_mapping(
        "x.toml", {"match_counts": {"by_detector": {"WFC3/UVIS": {"unit": "mas", "warn": 3}}}}))
    with pytest.raises(ThresholdError, match="measured in ''"):
        bad.lookup("match_counts", instrument="WFC3", detector="UVIS")
    odd = ThresholdTable.default(ThresholdLayer.from_mapping(
        "y.toml", {"fit_rms": {"by_detector": {"NIC/NIC2": {"unit": "mas", "warn": 3}}}}))
    with pytest.raises(ThresholdError, match="no plate scale for NIC/NIC2"):
        odd.lookup("fit_rms", instrument="NIC", detector="NIC2")


def test_a_measurement_is_judged_with_its_own_detectors_levels():
    """A products directory may mix IR and UVIS (align_mosaics): the same 0.2 px is
    7.9 mas on UVIS (warn) and 25.7 mas on IR (fail), so each subject that names its
    detector gets that detector's levels; the others the dataset's."""
    @check("mixed_probe", needs=("shiftfiles",), unit="pix", description="test")
    def probe(shiftfiles=()):
        yield Measurement("uvis", 0.2, "", detector="WFC3/UVIS")  # 7.9 mas: warn
        yield Measurement("ir", 0.2, "", detector="WFC3/IR")  # 25.7 mas: fail
        yield Measurement("unknown", 0.2, "")  # the dataset's (pixel) levels: fail
    table = ThresholdTable.default(ThresholdLayer.from_mapping("t", {"mixed_probe": {
        "unit": "pix", "warn": 0.05, "fail": 0.1, "by_detector": {
            "WFC3/UVIS": {"unit": "mas", "warn": 4, "fail": 20},
            "WFC3/IR": {"unit": "mas", "warn": 13, "fail": 20}}}}))

    class P:
        shiftfiles = ("x",)
    got = {r.subject: r for r in run_check(
        spec_of(probe), P(), table.lookup("mixed_probe"), "d",
        lambda n: table.lookup("mixed_probe", instrument=n.split("/")[0],
                               detector=n.split("/")[1]))}
    assert got["uvis"].status is Status.WARN and got["ir"].status is Status.FAIL
    assert got["unknown"].status is Status.FAIL
    assert got["ir"].threshold["stated"]["detector"] == "WFC3/IR"
