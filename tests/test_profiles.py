"""Detector profiles: the parameters a user's own exposures are processed with."""
from __future__ import annotations

from pathlib import Path

import pytest

from hst_align_qa.fixtures.config.datasets import Dataset, local_manifest
from hst_align_qa.fixtures.config.profiles import apply_profile, load_profiles, profile_for
from hst_align_qa.fixtures.sources.base import SourceError


def test_acs_wfc_profile_has_the_memory_guarded_threshold_and_notes():
    acs = load_profiles()["ACS/WFC"]
    assert acs.plate_scale == 0.05
    assert acs.imagefind["threshold"] == "auto"  # never the synthetic data's fixed 30
    assert acs.tweakreg["searchunits"] == "pixels" and isinstance(
        acs.tweakreg["searchrad"], int)
    assert acs.mdriztab is True and "notebook" in acs.note


def test_unsupported_detector_names_the_file_and_the_supported_ones():
    with pytest.raises(SourceError, match=r"^j8cw01a1q_flt.fits: no detector profile for "
                                          r"ACS/HRC; supported: ACS/SBC, ACS/WFC, "
                                          r"STIS/FUV-MAMA, STIS/NUV-MAMA, WFC3/IR, WFC3/UVIS"):
        profile_for("acs", "hrc", "j8cw01a1q_flt.fits")


def test_manifest_keys_win_and_are_marked():
    acs = profile_for("ACS", "WFC", "x.fits")
    ds = Dataset(name="mine", source="local", tweakreg={"searchrad": 12},
                 mdriztab=False)
    merged, line = apply_profile(ds, acs)
    assert merged.tweakreg["searchrad"] == 12
    assert merged.tweakreg["fitgeometry"] == acs.tweakreg["fitgeometry"]
    assert merged.imagefind == acs.imagefind
    assert merged.mdriztab is False  # given: kept; not given: the profile's
    assert apply_profile(Dataset(name="m", source="local"), acs)[0].mdriztab is True
    assert line.startswith("ACS/WFC (0.05 arcsec/px); ")
    assert "searchrad=12 (manifest)" in line and "imagefind: threshold='auto'," in line


def test_input_dir_dataset_is_named_after_the_directory(tmp_path):
    m = local_manifest(tmp_path / "my_visits")
    assert m.default == ("my_visits",)
    ds = m.get("my_visits")
    assert ds.source == "local" and ds.local["path"] == str(tmp_path / "my_visits")
    assert not ds.tweakreg and not ds.imagefind  # all from the profile, once files are read
    odd = local_manifest(Path("/"))
    assert odd.default[0].startswith("input-")


def test_input_dir_with_dataset_is_a_usage_error(pytester, tmp_path):
    result = pytester.runpytest("--pyargs", "hst_align_qa.qa", "--input-dir",
                                str(tmp_path), "--dataset", "synthetic-small")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*--input-dir names its own dataset (after the "
                                 "directory): drop --dataset*"])


@pytest.mark.parametrize("name", ["ACS/SBC", "STIS/FUV-MAMA", "STIS/NUV-MAMA"])
def test_mama_profiles_reject_no_cosmic_rays(name):
    """MAMA detectors count photons: no cosmic rays, so AstroDrizzle runs without the
    median image, its blotting and driz_cr (drizzlepac's SBC pipeline:
    svm_parameters/acs/sbc/acs_sbc_astrodrizzle_any_any.json), keeping the separate
    drizzling that visit_registration measures. The search radius is 1 arcsec in the
    detector's pixels, as for ACS/WFC."""
    from hst_align_qa.checks.detectors import detectors
    p = load_profiles()[name]
    assert detectors()[name].mama
    assert (p.astrodrizzle["median"], p.astrodrizzle["blot"], p.astrodrizzle["driz_cr"]) == (
        False, False, False)
    assert "driz_separate" not in p.astrodrizzle  # AstroDrizzle's default: on
    assert p.tweakreg["searchrad"] * p.plate_scale == pytest.approx(1.0, rel=0.02)
    assert p.mdriztab is False and "cosmic" in p.note
    for other in ("ACS/WFC", "WFC3/UVIS", "WFC3/IR"):  # CCDs and IR keep rejection on
        assert load_profiles()[other].astrodrizzle.get("driz_cr", True) is not False
