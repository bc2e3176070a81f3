"""A check from another installed package runs in `pytest qa/` without editing this one."""
import html
import json
import re
import textwrap
from pathlib import Path

from hst_align_qa.checks.registry import discover

REPO = Path(__file__).resolve().parents[1]

CHECK = '''
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure

from hst_align_qa.checks.display import Column, Figure
from hst_align_qa.checks.registry import check
from hst_align_qa.checks.result import Measurement


def shift_histogram(results, products):
    values = [r.observed for r in results if r.observed is not None]

    def draw():
        fig = MplFigure(figsize=(3, 2))
        FigureCanvasAgg(fig)
        fig.add_subplot().hist(values)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    yield Figure("largest shifts (extqa)", ("extqa-shifts", len(values)), draw)


@check("max_shift", needs=("shiftfiles",), description="shift larger than expected",
       unit="pix", figures=shift_histogram,
       summary=(Column("largest shift (extqa)", "max"),))
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
    # deselected: the built-in checks and test_products_available
    result.assert_outcomes(failed=1, deselected=len(discover()) + 1)
    doc = json.loads((pytester.path / "qa.json").read_text())
    got = {r["subject"]: r["status"] for r in doc["results"] if r["check"] == "max_shift"}
    # test3's j8xi0xs0q shift is (0.105, -0.395): above the test's fail level
    assert got["shift814_flc_test3.txt:j8xi0xs0q_flc.fits"] == "fail"
    assert got["shift814_flc_test3.txt:j8xi0xs6q_flc.fits"] == "pass"
    # test1 and test2 are earlier attempts (stale): a third-party check never sees them
    assert len(got) == 4


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


def _blob(report: Path) -> dict:
    text = report.read_text()
    return json.loads(html.unescape(re.search(r'data-jsonblob="([^"]*)"', text)[1]))


def test_external_check_figure_and_column_reach_the_report(pytester, real_data,
                                                           monkeypatch):
    """The third-party check's spec declares a figure and a summary column: the HTML
    report shows both, like a built-in check's (the report names no check)."""
    site = install_fake_package(pytester.path)
    monkeypatch.setenv("PYTHONPATH", str(site))
    pytester.path.joinpath("test_checks.py").write_text(
        (REPO / "qa" / "test_checks.py").read_text())
    pytester.path.joinpath("ext.toml").write_text(
        '[max_shift]\nunit = "pix"\nworse = "higher"\nwarn = 0.3\nfail = 0.38\n'
        'note = "test levels"\n')
    folder = real_data / "tweakreg_runs" / "align_sparse_fields"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--products-dir={folder}", "--thresholds=ext.toml",
        "--html=report.html", "--self-contained-html",
        f"--qa-cache-dir={pytester.path / 'cache'}")
    assert (pytester.path / "report.html").is_file(), result.stdout.str()[-2000:]
    blob = _blob(pytester.path / "report.html")
    ours = [e for test, runs in blob["tests"].items() if "max_shift" in test
            for r in runs for e in r["extras"] if e["format_type"] == "image"]
    assert [e["name"] for e in ours] == ["largest shifts (extqa)"]
    assert ours[0]["content"].startswith("data:image/png;base64,iVBORw0KGgo")
    page = html.unescape((pytester.path / "report.html").read_text())
    assert "<th>largest shift (extqa)</th>" in page  # its summary column
    # the built-in checks' figures are there too, from their own specs
    names = {e["name"] for runs in blob["tests"].values() for r in runs
             for e in r["extras"] if e["format_type"] == "image"}
    assert any(n.startswith("residuals ") for n in names) and "matched sources" in names


def test_no_figure_is_drawn_without_a_report(pytester, real_data):
    """Without --html no figure is drawn (none reaches the figure memo, no time is spent
    on them); with --html the same run draws them."""
    pytester.path.joinpath("test_checks.py").write_text(
        (REPO / "qa" / "test_checks.py").read_text())
    folder = real_data / "tweakreg_runs" / "align_sparse_fields"
    cache = pytester.path / "cache"
    args = ("-p", "no:cacheprovider", f"--products-dir={folder}", f"--qa-cache-dir={cache}",
            "--qa-json=qa.json")
    pytester.runpytest_subprocess(*args)
    doc = json.loads((pytester.path / "qa.json").read_text())
    assert doc["results"] and doc["figure_seconds"] == 0.0
    assert not list(cache.glob("memo/figures/**/*.png"))
    pytester.runpytest_subprocess(*args, "--html=report.html")
    assert len(list(cache.glob("memo/figures/**/*.png"))) >= 4
