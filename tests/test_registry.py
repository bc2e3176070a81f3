"""Registry: explicit decorator, entry points, verdicts, errors never hide results."""
import math

from hst_align_qa.checks.registry import check, discover, run_check, spec_of
from hst_align_qa.checks.result import CheckResult, Measurement, Status
from hst_align_qa.checks.thresholds import Threshold


class P:
    shiftfiles = ("x",)
    drc = None


LEVELS = Threshold(check="demo", unit="pix", worse="higher", warn=0.05, fail=0.1,
                   source="test")


@check("demo", needs=("shiftfiles",), description="demo", unit="pix")
def demo(shiftfiles, scale=1.0):
    yield Measurement("a", 0.01 * scale)
    yield Measurement("b", 0.07 * scale)
    yield Measurement("c", 0.5 * scale, significant=False)
    yield Measurement("d", math.nan)


def test_decorator_attaches_spec_without_registering():
    spec = spec_of(demo)
    assert spec.name == "demo" and spec.needs == ("shiftfiles",)
    assert "demo" not in {s.name for s in discover()}


def test_run_check_classifies_each_subject():
    results = run_check(spec_of(demo), P(), LEVELS, "ds")
    assert [r.status for r in results] == [Status.PASS, Status.WARN, Status.PASS,
                                           Status.FAIL]
    assert results[2].details["significant"] is False
    assert "Not statistically significant" in results[2].message
    assert results[3].observed is None and "Not measurable" in results[3].message
    for r in results:
        assert CheckResult.from_dict(r.to_dict()) == r


def test_params_come_from_thresholds():
    levels = Threshold(check="demo", unit="pix", worse="higher", warn=0.05, fail=0.1,
                       source="t", params={"scale": 100.0})
    results = run_check(spec_of(demo), P(), levels, "ds")
    assert results[0].status is Status.FAIL


def test_missing_products_skip_with_reason():
    @check("needs_drc", needs=("drc",), description="x")
    def needs_drc(drc):
        raise AssertionError("must not be called")

    (r,) = run_check(spec_of(needs_drc), P(), LEVELS, "ds")
    assert r.status is Status.SKIP and "no drc" in r.message


def test_exception_becomes_error_result():
    @check("broken", needs=("shiftfiles",), description="x")
    def broken(shiftfiles):
        raise ZeroDivisionError("boom")

    (r,) = run_check(spec_of(broken), P(), LEVELS, "ds")
    assert r.status is Status.ERROR
    assert "ZeroDivisionError: boom" in r.message and "test_registry.py" in r.message


def test_builtin_checks_are_discovered_from_entry_points():
    names = {s.name for s in discover()}
    assert {"fit_rms", "shiftfile_nans", "match_counts", "residual_correlation",
            "weight_imprint"} <= names
