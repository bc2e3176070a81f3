"""Thresholds: levels are data, resolved in a documented order."""
import math

import pytest

from hst_align_qa.checks.result import Status
from hst_align_qa.checks.thresholds import ThresholdError, ThresholdLayer, ThresholdTable


def test_defaults_classify_in_both_directions():
    table = ThresholdTable.default()
    rms = table.lookup("fit_rms")
    assert (rms.warn, rms.fail, rms.unit) == (0.05, 0.10, "pix")
    assert rms.classify(0.04) is Status.PASS
    assert rms.classify(0.07) is Status.WARN
    assert rms.classify(0.4) is Status.FAIL
    assert rms.classify(math.nan) is Status.FAIL
    matches = table.lookup("match_counts")
    assert matches.classify(100) is Status.PASS
    assert matches.classify(20) is Status.WARN
    assert matches.classify(10) is Status.FAIL


def test_fitgeometry_context_is_stricter_for_general():
    table = ThresholdTable.default()
    assert table.lookup("match_counts", fitgeometry="general").fail == 25
    assert table.lookup("match_counts", fitgeometry="rscale").fail == 15


def test_layers_override_key_by_key_and_say_where_from(tmp_path):
    user = tmp_path / "mine.toml"
    user.write_text('[fit_rms]\nfail = 0.2\n[fit_rms.by_detector."WFC3/IR"]\nwarn = 0.08\n')
    table = ThresholdTable.default(
        ThresholdLayer.from_mapping("manifest", {"fit_rms": {"warn": 0.06}}),
        ThresholdLayer.from_file(user))
    t = table.lookup("fit_rms", instrument="WFC3", detector="IR")
    assert (t.warn, t.fail) == (0.08, 0.2)
    assert str(user) in t.source
    t = table.lookup("fit_rms", instrument="ACS", detector="WFC")
    assert (t.warn, t.fail) == (0.06, 0.2)
    assert "manifest [fit_rms]" in t.source


@pytest.mark.parametrize("text, message", [
    ("[fit_rms]\nfial = 0.2\n", "unknown key(s) ['fial']"),
    ("[fit_rms]\nfail = 'big'\n", "fail must be a number"),
    ("[fit_rms]\nfail = true\n", "fail must be a number"),
    ("[fit_rms]\nworse = 'up'\n", "worse must be 'higher' or 'lower'"),
    ("[fit_rms]\nunit = 'furlongs'\n", "is not an astropy unit"),
    ("[fit_rms\n", "not valid TOML"),
])
def test_bad_threshold_files_name_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ThresholdError, match="bad.toml") as info:
        ThresholdLayer.from_file(path)
    assert message in str(info.value)


def test_unknown_check_is_an_error():
    with pytest.raises(ThresholdError, match="no thresholds defined for check 'nope'"):
        ThresholdTable.default().lookup("nope")
