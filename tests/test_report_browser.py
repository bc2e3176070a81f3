"""The HTML report as a person sees it: `pytest qa/` writes it, headless Chromium renders it.

Needs Debian's chromium at /usr/bin/chromium (driven through the `playwright` package;
no browser is downloaded). A missing browser fails these tests, it does not skip them.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import qa_process

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
XSS = "<script>alert(1)</script>"


def run_qa(out: Path, cache_dir: Path, *args: str) -> tuple[dict, Path]:
    """``pytest qa/`` in a child process; return its JSON and the HTML report's path."""
    out.mkdir(parents=True, exist_ok=True)
    _, doc, output = qa_process.run_qa(out, cache_dir, *args)
    assert doc is not None, output[-3000:]
    return doc, out / "qa.html"


@dataclass
class View:
    """What the browser showed: messages, requests, images, summary rows, text."""
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    images: list[tuple[str, int, int]] = field(default_factory=list)  # (name, width, height)
    rows: list[list[str]] = field(default_factory=list)
    text: str = ""


def render(browser, html: Path, screenshot: Path) -> View:
    """Open the report, expand every test, page through every media carousel, screenshot."""
    view = View()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.on("console", lambda m: m.type == "error" and view.errors.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: view.errors.append(f"page error: {e}"))
    page.on("request", lambda r: view.requests.append(r.url))
    page.on("dialog", lambda d: (view.dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(html.as_uri(), wait_until="load")
        page.click("#show_all_details")  # pytest-html 4 collapses passed tests
        decode = ("async e => { try { await e.decode(); } catch (err) {} "
                  "return [e.naturalWidth, e.naturalHeight]; }")
        # Rows without media keep a hidden, empty <img> placeholder; every other image is
        # shown one at a time in a carousel ("1 / N"), stepped with the right arrow.
        for media in page.locator(".media:not(.hidden)").all():
            count = int(media.locator(".media__counter").inner_text().split("/")[1])
            for _ in range(count):
                name = media.locator(".media__name").inner_text()
                view.images.append((name, *media.locator("img").evaluate(decode)))
                if count > 1:
                    media.locator(".media-container__nav--right").click()
        view.images += [("<img> outside a carousel", *img.evaluate(decode))
                        for img in page.locator("img:not(.media img)").all()]
        view.rows = [r.locator("td").all_inner_texts()
                     for r in page.locator("#qa-summary tr.qa-dataset").all()]
        view.text = page.evaluate("document.body.innerText")
        page.screenshot(path=str(screenshot), full_page=True)
    finally:
        page.close()
    print(f"screenshot: {screenshot}")
    return view


def assert_clean(view: View, html: Path) -> None:
    """No errors, nothing fetched but the page itself and data: URIs, every image decoded."""
    assert not view.errors, view.errors
    foreign = [u for u in view.requests if u != html.as_uri() and not u.startswith("data:")]
    assert not foreign, f"report is not self-contained, it requested {foreign}"
    assert not view.dialogs, view.dialogs
    broken = [img for img in view.images if not (img[1] > 0 and img[2] > 0)]
    assert not broken, f"images not decoded: {broken}"


def assert_verdicts(view: View, doc: dict) -> None:
    """One summary row per dataset, each with the JSON's verdict."""
    shown = {row[0]: row[1].strip() for row in view.rows}
    assert len(view.rows) == len(shown) == len(doc["datasets"]), view.rows
    assert shown == {name: d["verdict"].upper() for name, d in doc["datasets"].items()}


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium "
                    "(apt-get install chromium) to test the HTML report", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: pip install -e '.[test]'", pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("qa-cache")


@pytest.fixture(scope="module")
def default_report(tmp_path_factory, cache_dir) -> tuple[dict, Path]:
    return run_qa(tmp_path_factory.mktemp("qa-default"), cache_dir)


@pytest.fixture
def artifacts(tmp_path) -> Path:
    """Where screenshots go: $HST_QA_ARTIFACTS if set, else the test's tmp_path."""
    artifacts = os.environ.get("HST_QA_ARTIFACTS")
    path = Path(artifacts) if artifacts is not None else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_default_report_renders_cleanly(browser, default_report, artifacts):
    doc, html = default_report
    view = render(browser, html, artifacts / "qa-report-default.png")
    assert_clean(view, html)
    assert len(view.images) >= 5, view.images
    assert doc["datasets"]["synthetic-small"]["verdict"] in ("pass", "warn")
    assert_verdicts(view, doc)


def test_two_datasets_two_summary_rows(browser, tmp_path, cache_dir, default_report,
                                       artifacts):
    doc, html = run_qa(tmp_path / "out", cache_dir,
                       "--dataset", "synthetic-small", "--dataset", "synthetic-shift1")
    assert doc["datasets"]["synthetic-shift1"]["verdict"] == "fail"
    view = render(browser, html, artifacts / "qa-report-two-datasets.png")
    assert_clean(view, html)
    assert_verdicts(view, doc)


def test_hostile_targname_is_shown_as_text(browser, tmp_path, cache_dir, default_report,
                                           artifacts):
    from astropy.io import fits

    user = tmp_path / "inputs"
    user.mkdir()
    for src in qa_process.clean_inputs(cache_dir).glob("*_flc.fits"):
        shutil.copyfile(src, user / src.name)
        with fits.open(user / src.name, mode="update") as hdul:
            hdul[0].header["TARGNAME"] = XSS
    doc, html = run_qa(tmp_path / "out", tmp_path / "cache", "--input-dir", str(user))
    view = render(browser, html, artifacts / "qa-report-hostile-targname.png")
    assert not view.dialogs, f"a script in TARGNAME ran: {view.dialogs}"
    assert_clean(view, html)
    assert XSS in view.text, "TARGNAME is not shown as text in the Input exposures table"
