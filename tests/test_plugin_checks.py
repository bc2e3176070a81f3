"""A check from another installed package runs in `pytest qa/` without editing this one."""
import json
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHECK = '''
from hst_align_qa.checks.registry import check
from hst_align_qa.checks.result import Measurement


@check("max_shift", needs=("shiftfiles",), description="shift larger than expected",
       unit="pix")
def max_shift(shiftfiles, limit_note="n/a"):
    for sf in shiftfiles:
        for row in sf.rows:
            yield Measurement(f"{sf.name}:{row.image}", max(abs(row.xsh), abs(row.ysh)),
                              message=f"largest shift of {row.image}")
'''


def install_fake_package(root: Path) -> Path:
    """What pip leaves on disk: a module and a .dist-info with entry_points.txt."""
    site = root / "site"
    (site / "extqa").mkdir(parents=True)
    (site / "extqa" / "__init__.py").write_text(CHECK)
    info = site / "extqa-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: extqa\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[hst_align_qa.checks]\nmax_shift = extqa:max_shift\n")
    return site


def test_external_check_is_discovered_and_judged(pytester, real_data, monkeypatch):
    site = install_fake_package(pytester.path)
    monkeypatch.setenv("PYTHONPATH", str(site))
    for name in ("test_checks.py", "test_pipeline.py"):
        pytester.path.joinpath(name).write_text((REPO / "qa" / name).read_text())
    pytester.path.joinpath("ext.toml").write_text(textwrap.dedent("""
        [max_shift]
        unit = "pix"
        worse = "higher"
        warn = 0.3
        fail = 0.38
        note = "test levels"
    """))
    folder = real_data / "tweakreg_runs" / "align_sparse_fields"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--products-dir={folder}", "--thresholds=ext.toml",
        "--qa-json=qa.json", "-k", "max_shift")
    result.assert_outcomes(failed=1, deselected=9)  # the built-in checks
    doc = json.loads((pytester.path / "qa.json").read_text())
    got = {r["subject"]: r["status"] for r in doc["results"] if r["check"] == "max_shift"}
    # test3's j8xi0xs0q shift is (0.105, -0.395): above the test's fail level
    assert got["shift814_flc_test3.txt:j8xi0xs0q_flc.fits"] == "fail"
    assert got["shift814_flc_test3.txt:j8xi0xs6q_flc.fits"] == "pass"
    assert len(got) == 12


def test_external_check_without_thresholds_is_a_clear_error(pytester, real_data,
                                                            monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(install_fake_package(pytester.path)))
    pytester.path.joinpath("test_checks.py").write_text(
        (REPO / "qa" / "test_checks.py").read_text())
    folder = real_data / "tweakreg_runs" / "align_sparse_fields"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider",
                                           f"--products-dir={folder}", "-k", "max_shift")
    assert result.ret != 0
    assert "no thresholds defined for check 'max_shift'" in (
        result.stdout.str() + result.stderr.str())
