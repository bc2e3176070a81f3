"""Every log and table format the readers meet, read right: TweakReg and AstroDrizzle from
1.4.x to 3.x as trailer files and console captures, Python logging's doubled lines,
tracebacks of Python 2, 3 and IPython, drizzlepac's boxed failure banner, TweakReg's
Ctrl-C quit, a reference image's empty fit block, shift files naming images with
directories, angles that wrap, and the frame a shift file's pixels are in.

Real text where it exists (``tests/data/real``, ``tests/data/tweakreg_3.11`` and the
snippets of public drizzlepac threads in ``tests/data/log_formats``, see its README); a
test that has to build its case says so and changes only the lines the case is about.
"""
from __future__ import annotations

import math
import shutil
from collections import Counter
from pathlib import Path

import pytest

from hst_align_qa.checks import readers
from hst_align_qa.checks.attempts import last_attempts
from hst_align_qa.checks.images_aligned import images_aligned
from hst_align_qa.checks.pipeline_log import pipeline_log
from hst_align_qa.checks.products import Products
from hst_align_qa.checks.readers._common import wrap_angle
from hst_align_qa.checks.registry import run_check, spec_of
from hst_align_qa.checks.result import Status
from hst_align_qa.checks.thresholds import ThresholdTable

FORMATS = Path(__file__).parent / "data" / "log_formats"


def _judge(func, products):
    return run_check(spec_of(func), products,
                     ThresholdTable.default().lookup(spec_of(func).name), "d")


def _console(text: str) -> str:
    """What a terminal or notebook cell shows of a run: the trailer file's lines without
    their logger prefixes (drizzlepac prints the same text it logs)."""
    return "".join(line[11:] if line.startswith("[") and line[9:11] == "] " else
                   (line[10:] if line.startswith("[") and line[9:10] == "]" else line)
                   for line in text.splitlines(keepends=True))


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def _fits(log):
    return [(f.image, f.failed, f.xrms, f.yrms, f.xsh, f.n_matches) for f in log.fits]


def _notable(log):
    return Counter((n.level, n.kind) for n in log.notable)


# --- versions and the trailer / console forms ----------------------------------------------

def test_the_fit_lines_decide_the_format_not_the_banner(real_data, data311):
    """Two real TweakReg 1.4.7 runfiles of the same notebook, seven months apart: May 2019
    prints "XRMS: 0.057  YRMS: 0.036", December 2019 "FIT XRMS: 0.38  FIT YRMS: 0.39"
    under the same "TweakReg Version 1.4.7" banner. Both are read, every fit with its rms."""
    runs = real_data / "tweakreg_runs"
    may = readers.read_tweakreg_log(runs / "align_mosaics_3400b17/tweakreg.log")
    dec = readers.read_tweakreg_log(runs / "align_sparse_fields/tweakreg.log")
    new = readers.read_tweakreg_log(data311 / "good/tweakreg.log")
    assert (may.version, may.format) == ("1.4.7", "2019")
    assert (dec.version, dec.format) == ("1.4.7", "3.x")
    assert (new.version, new.format) == ("3.11.0", "3.x")
    for log, n in ((may, 19), (dec, 12), (new, 2)):
        fitted = [f for f in log.fits if not f.failed]
        assert len(fitted) == n
        assert all(math.isfinite(f.xrms) and math.isfinite(f.yrms) for f in fitted)


@pytest.mark.parametrize("reader, relative", [
    ("tweakreg", "real/tweakreg_runs/align_mosaics_3400b17/tweakreg.log"),  # 1.4.7, 2019
    ("tweakreg", "real/tweakreg_runs/align_sparse_fields/tweakreg.log"),  # 1.4.7, late 2019
    ("tweakreg", "tweakreg_3.11/fail/tweakreg.log"),  # drizzlepac 3.11
    ("drizzle", "real/tweakreg_runs/align_to_catalogs/astrodrizzle.log"),  # 3.1.3
    ("drizzle", "tweakreg_3.11/good/astrodrizzle.log"),  # 3.11
])
def test_a_console_capture_reads_like_its_trailer_file(tmp_path, reader, relative):
    """The same run as a trailer file and as the console shows it: the same fits, the
    same notable lines at the same line numbers, and the reader says which it read."""
    read = readers.read_tweakreg_log if reader == "tweakreg" else readers.read_drizzle_log
    source = Path(__file__).parent / "data" / relative
    capture = tmp_path / source.name
    capture.write_text(_console(source.read_text()))
    trailer, console = read(source), read(capture)
    assert console.console and not trailer.console
    assert console.version == trailer.version
    assert [(n.line, n.level, n.kind) for n in console.notable] == \
        [(n.line, n.level, n.kind) for n in trailer.notable]
    if reader == "tweakreg":
        assert _fits(console) == _fits(trailer) and console.format == trailer.format
        assert [r.completed for r in console.runs] == [r.completed for r in trailer.runs]


@pytest.mark.parametrize("reader, capture, trailer", [
    ("tweakreg", "notebooks_72c8274_align_to_catalogs_tweakreg_console.log", "tweakreg.log"),
    ("drizzle", "notebooks_72c8274_align_to_catalogs_astrodrizzle_console.log",
     "astrodrizzle.log")])
def test_a_notebooks_doubled_console_reads_like_its_trailer(real_data, reader, capture,
                                                            trailer):
    """Real: the align_to_catalogs notebook's saved cell outputs (notebooks@72c8274), where
    every line is printed and logged again as "INFO:drizzlepac.<module>:...", and the
    trailer files the same runs wrote (same start times). Read alike: the nine fits (SDSS,
    then Gaia twice) with every value, the three runs, their parameters and shift files;
    AstroDrizzle's version, parameters and detector; nothing notable in either."""
    read = readers.read_tweakreg_log if reader == "tweakreg" else readers.read_drizzle_log
    console = read(FORMATS / capture)
    logged = read(real_data / "tweakreg_runs/align_to_catalogs" / trailer)
    assert console.console and not logged.console
    assert console.notable == () == logged.notable
    assert dict(console.params if reader == "drizzle" else console.runs[0].params) == \
        dict(logged.params if reader == "drizzle" else logged.runs[0].params)
    if reader == "drizzle":
        assert (console.version, console.instrument, console.detector) == \
            (logged.version, logged.instrument, logged.detector) == ("3.1.3", "WFC3", "UVIS")
        return
    assert len(console.fits) == 9

    def full(log):
        return [(f.image, f.failed, f.xrms, f.yrms, f.xsh, f.ysh, f.rot, f.skew,
                 f.n_matches, f.reference, f.run) for f in log.fits]
    assert full(console) == full(logged)
    assert [(r.images, r.shiftfile, r.completed) for r in console.runs] == \
        [(r.images, r.shiftfile, r.completed) for r in logged.runs]
    assert (console.format, console.version) == (logged.format, logged.version)


def _doubled(text: str, chunk: int = 7) -> str:
    """SYNTHETIC from a real trailer: what a notebook shows when its root logger is set
    up with ``logging.basicConfig()``: every line printed, and again through Python
    logging as ``LEVEL:drizzlepac.tweakreg:message`` (stderr), the two streams
    interleaved in chunks as a notebook shows them."""
    out, plain, logged = [], [], []
    for line in text.splitlines():
        level = line[1:9].strip() if line.startswith("[") and line[9:10] == "]" else None
        message = line[11:] if level else line
        plain.append(message)
        if level:
            logged.append(f"{level}:drizzlepac.tweakreg:{message}")
        if len(plain) == chunk:
            out += plain + logged
            plain, logged = [], []
    return "\n".join(out + plain + logged) + "\n"


def test_python_logging_doubles_count_once(data311, tmp_path):
    """SYNTHETIC, built from the real 3.11 'fail' run (the real doubled capture above
    has no failure in it): every line twice, once with "INFO:drizzlepac.tweakreg:"
    (WARNING: for warnings). Each fit, failure and warning counts once, as in the
    trailer file."""
    source = data311 / "fail/tweakreg.log"
    capture = tmp_path / "tweakreg.log"
    capture.write_text(_doubled(source.read_text()))
    text = capture.read_text()
    assert "INFO:drizzlepac.tweakreg:Performing fit for: jtst02b2q_flc.fits" in text
    assert text.count("Performing fit for: jtst02b2q_flc.fits") == 2
    trailer, console = readers.read_tweakreg_log(source), readers.read_tweakreg_log(capture)
    assert console.console
    assert _fits(console) == _fits(trailer)
    assert _notable(console) == _notable(trailer)
    assert [r.images for r in console.runs] == [r.images for r in trailer.runs]
    lines = capture.read_text().splitlines()
    for n in console.notable:  # each notable line points at a copy of its text
        assert n.text.split(":")[-1].strip()[:20] in lines[n.line - 1]
    assert _judge(pipeline_log, Products(tweakreg_log=console))[0].observed == \
        _judge(pipeline_log, Products(tweakreg_log=trailer))[0].observed


# --- failures: tracebacks, the boxed banner, Ctrl-C ----------------------------------------

def _tweakreg_start(real_data) -> list[str]:
    """The real start of a TweakReg 1.4.7 run: align_mosaics' run 2 up to its image list."""
    lines = _lines(real_data / "tweakreg_runs/align_mosaics/tweakreg.log")
    start = next(i for i, line in enumerate(lines) if line.startswith(
        "[INFO    ] Setting up logfile") and i > 0)
    end = next(i for i in range(start, len(lines)) if "Finding shifts for" in lines[i])
    return lines[start:end + 14]


def test_a_python2_traceback_in_a_trailer(real_data, tmp_path):
    """drizzlepac#188: TweakReg under Python 2.7 died in stwcs ("TypeError: unsupported
    operand type(s) for /: 'NoneType' and 'float'"), after the real start of a run. One
    failure, naming the exception; the run is marked as stopped by it."""
    log = tmp_path / "tweakreg.log"
    log.write_text("".join(_tweakreg_start(real_data))
                   + (FORMATS / "drizzlepac_188_py27_trailer.log").read_text())
    parsed = readers.read_tweakreg_log(log)
    (fail,) = [n for n in parsed.notable if n.level == "fail"]
    assert fail.kind == "exception"
    assert fail.text == ("An unhandled exception ocurred: TypeError: unsupported operand "
                         "type(s) for /: 'NoneType' and 'float'")
    assert parsed.runs[-1].stopped == fail.text


@pytest.mark.parametrize("console", [False, True])
def test_a_chained_python3_traceback_is_one_failure(data311, tmp_path, console):
    """SYNTHETIC (the wording is Python 3's): an exception raised while handling another.
    One failure, named by the exception that ended the run, in a trailer and a console."""
    lines = _lines(data311 / "good/tweakreg.log")
    crash = ["[ERROR   ] An unhandled exception ocurred:\n",
             "Traceback (most recent call last):\n",
             '  File "drizzlepac/imgclasses.py", line 1145, in __init__\n',
             "    self.wcs = utils.output_wcs(wcs_list)\n",
             "KeyError: 'IDCSCALE'\n", "\n",
             "During handling of the above exception, another exception occurred:\n", "\n",
             "Traceback (most recent call last):\n",
             '  File "drizzlepac/util.py", line 225, in wrapper\n',
             "    result = func(*args, **kwargs)\n",
             "ValueError: no IDCSCALE for the reference WCS\n"]
    text = "".join(lines[:130] + [lines[-1]] + crash)
    log = tmp_path / "tweakreg.log"
    log.write_text(_console(text) if console else text)
    parsed = readers.read_tweakreg_log(log)
    fails = [n for n in parsed.notable if n.level == "fail"]
    assert len(fails) == 1, fails
    assert fails[0].text.endswith("ValueError: no IDCSCALE for the reference WCS")


def test_an_ipython_traceback_in_a_notebook_capture(data311, tmp_path):
    """drizzlepac#398: a notebook cell's IPython traceback of a TweakReg call (its header
    "TypeError   Traceback (most recent call last)", arrows, source lines), after the
    real console text of a run start. One failure naming TypeError; the traceback's own
    lines are not read as TweakReg's."""
    start = _console("".join(_lines(data311 / "fail/tweakreg.log")[:40]))
    log = tmp_path / "tweakreg.log"
    log.write_text(start + (FORMATS / "drizzlepac_398_ipython_console.txt").read_text())
    parsed = readers.read_tweakreg_log(log)
    assert parsed.console
    (fail,) = [n for n in parsed.notable if n.level == "fail"]
    assert fail.kind == "exception" and fail.text == "Python traceback: TypeError"
    assert fail.line == 42  # the IPython header, after the 40 lines and the dashes
    assert parsed.notable == (fail,)


def test_a_real_notebook_traceback_with_colour_codes(tmp_path):
    """Real: a notebook's stored IPython traceback (notebooks@72c8274 drizzle_wfpc2, ANSI
    colours and all), after the first 200 lines of the real doubled console capture of a
    TweakReg run (the cell died mid-run). One failure named by the traceback's last line;
    the run stopped there."""
    start = (FORMATS / "notebooks_72c8274_align_to_catalogs_tweakreg_console.log"
             ).read_text().splitlines(keepends=True)[:200]
    crash = (FORMATS / "notebooks_72c8274_drizzle_wfpc2_ipython_traceback.txt").read_text()
    assert "\x1b[0;31mCalledProcessError\x1b[0m" in crash
    log = tmp_path / "tweakreg.log"
    log.write_text("".join(start) + crash)
    parsed = readers.read_tweakreg_log(log)
    (fail,) = [n for n in parsed.notable if n.level == "fail"]
    assert fail.text == ("Python traceback: CalledProcessError: Command 'crds bestrefs "
                         "--files ua0605*_c0m.fits --sync-references=1 --update-bestrefs' "
                         "returned non-zero exit status 1.")
    assert parsed.runs[0].stopped == fail.text and not parsed.runs[0].completed


def test_a_tweakreg_crash_in_a_notebook(tmp_path):
    """Real: the sky_matching notebook's TweakReg cell (notebooks@72c8274): three images
    found too few matches (< 5), then TweakReg itself died while matching the fourth
    (UnboundLocalError in imgclasses._estimate_2dhist_shift), printed as drizzlepac's
    "An unhandled exception ocurred:" and IPython's coloured traceback. Read: three
    failures and the crash, the run stopped by it, the image it was fitting not aligned:
    nothing aligned, so the dataset fails."""
    log = readers.read_tweakreg_log(
        FORMATS / "notebooks_72c8274_sky_matching_tweakreg_crash_console.log")
    assert log.console and len(log.runs) == 1
    assert [n.kind for n in log.notable] == ["not-enough-matches"] * 3 + ["exception"]
    crash = ("An unhandled exception ocurred: UnboundLocalError: local variable 'sig' "
             "referenced before assignment")
    assert log.notable[-1].text == crash and log.runs[0].stopped == crash
    assert [(f.image, f.failed) for f in log.fits] == [
        ("ibxl51030_drz.fits", True), ("ibxl53030_drz.fits", True),
        ("ibxl55030_drz.fits", True), ("ibxl57030_drz.fits", True)]
    assert log.fits[-1].reason == f"its run stopped: {crash}"
    (r,) = _judge(images_aligned, Products(tweakreg_log=log))
    assert r.status is Status.FAIL and r.observed == 0


def test_a_parameter_search_notebook(tmp_path):
    """Real: align_multiple_visits (notebooks@72c8274), five TweakReg 1.4.7 runs of March
    2019 ("XRMS:" lines; every line doubled by Python logging) on j9irw4b1q and j9irw5kaq
    against j9irw3fwq: default parameters (a false solution 51 px off at rms 0.74 px),
    a threshold with too few matches (both fail), then searchrad, general and the final
    run (rms 0.03-0.05 px). Each line counts once; the final run's fits are the last."""
    log = readers.read_tweakreg_log(
        FORMATS / "notebooks_72c8274_align_multiple_visits_tweakreg_console.log")
    assert (log.console, log.format, log.version, len(log.runs)) == (True, "2019", "1.4.7", 5)
    assert [r.shiftfile for r in log.runs] == ["shift_default.txt", "shift_thresh.txt",
                                               "shift_searchrad.txt", "shift_general.txt",
                                               ""]
    assert [(f.run, f.failed) for f in log.fits] == [
        (0, False), (0, False), (1, True), (1, True), (2, False), (2, False),
        (3, False), (3, False), (4, False), (4, False)]
    assert [n.kind for n in log.notable] == ["not-enough-matches"] * 2
    final = log.latest_fits()["j9irw4b1q_flc.fits"]
    assert (final.run, final.xsh, final.ysh, final.xrms) == (4, -30.0042, -40.1841, 0.032)


def _drizzle_start(real_data) -> str:
    """The real start of an AstroDrizzle 3.1.3 run (align_to_catalogs, 2019)."""
    return "".join(_lines(real_data / "tweakreg_runs/align_to_catalogs/astrodrizzle.log")[:30])


def test_the_boxed_banner_in_a_trailer_is_one_failure(real_data, tmp_path):
    """drizzlepac#1089: AstroDrizzle 3.2 logged its "encountered a problem! Processing
    terminated" box at ERROR, seven lines. One failure that quotes the banner, not seven;
    the banner's version is not taken for the run's."""
    log = tmp_path / "astrodrizzle.log"
    log.write_text(_drizzle_start(real_data)
                   + (FORMATS / "drizzlepac_1089_trailer_box.log").read_text())
    parsed = readers.read_drizzle_log(log)
    assert parsed.version == "3.1.3"
    assert [(n.level, n.kind, n.text) for n in parsed.notable] == [
        ("fail", "terminated", "AstroDrizzle Version 3.2.0rc1.dev113+g89078f91 encountered "
         "a problem! Processing terminated at 22:02:47.14 (29/07/2021).")]
    (r,) = _judge(pipeline_log, Products(drizzle_log=parsed))
    assert r.status is Status.FAIL and r.observed == 1


def test_the_boxed_banner_on_a_console_is_one_failure_with_its_traceback(real_data,
                                                                         tmp_path):
    """drizzlepac#1666: the same box printed to a console (a blank line after each line,
    as the thread shows it), followed by its traceback: one failure, the banner's."""
    log = tmp_path / "astrodrizzle.log"
    log.write_text(_console(_drizzle_start(real_data))
                   + (FORMATS / "drizzlepac_1666_console_box.txt").read_text())
    parsed = readers.read_drizzle_log(log)
    assert parsed.console
    (fail,) = parsed.notable
    assert fail.kind == "terminated" and fail.text.startswith(
        "AstroDrizzle Version 3.6.2rc1.dev3+g10c73c9 encountered a problem! Processing "
        "terminated at 23:24:39.726 (13/09/2023).")


def test_the_boxed_banner_alone_is_read_as_an_astrodrizzle_log(tmp_path):
    """A HAP ``.err`` file holds only the box and the traceback: it is recognised as an
    AstroDrizzle log (not refused as foreign), with nothing to say outside a run."""
    log = tmp_path / "hap.log"
    shutil.copy(FORMATS / "drizzlepac_1666_console_box.txt", log)
    parsed = readers.read_drizzle_log(log)
    assert parsed.console and parsed.version == ""


def test_ctrl_c_quits_the_run(data311, tmp_path):
    """SYNTHETIC (TweakReg's own words, tweakreg.py: "Quitting as a result of user
    request (Ctrl-C)..."), cut into the real 3.11 run after its first image's source
    finding, then its trailer line. TweakReg quit: the run stopped, nothing aligned, and
    the earlier run's match and shift files left in the folder are stale."""
    lines = _lines(data311 / "good/tweakreg.log")
    cut = next(i for i, line in enumerate(lines) if "FINAL number of objects in image "
               "'jtst01a1q_flc.fits'" in line) + 1
    folder = tmp_path / "ctrl_c"
    shutil.copytree(data311 / "good", folder)
    (folder / "astrodrizzle.log").unlink()
    (folder / "tweakreg.log").write_text("".join(
        lines + lines[:cut] + ["[INFO    ] Quitting as a result of user request "
                               "(Ctrl-C)...\n",
                               "[INFO    ] Trailer file written to: tweakreg.log\n"]))
    products = readers.load_products(readers.find_products(folder))
    log = products.tweakreg_log
    assert len(log.runs) == 2
    assert log.runs[1].stopped == "Quitting as a result of user request (Ctrl-C)..."
    (r,) = _judge(images_aligned, products)
    assert r.status is Status.FAIL and "TweakReg quit in tweakreg.log run 2 of 2" in r.message
    attempt = last_attempts(log)["jtst01a2q_flc.fits"]
    assert attempt.outcome == "not reached" and "Ctrl-C" in attempt.describe()
    assert {Path(s.path).name for s in products.stale} == {
        "shift_good.txt", "jtst01a2q_flc_catalog_fit.match",
        "jtst01a3q_flc_catalog_fit.match"}


def test_the_reference_images_own_empty_block_is_no_failure(data311, tmp_path):
    """SYNTHETIC: a "Performing fit for:" block of the reference image itself, with no
    fit after it, put before the real 3.11 run's first fit. It is the reference, not an
    image TweakReg failed to fit: the same fits as without it, two images aligned."""
    lines = _lines(data311 / "good/tweakreg.log")
    at = next(i for i, line in enumerate(lines) if "Performing fit for: jtst01a2q" in line)
    block = ["[INFO    ] ====================\n",
             "[INFO    ] Performing fit for: jtst01a1q_flc.fits\n", "[INFO    ] \n"]
    log = tmp_path / "tweakreg.log"
    log.write_text("".join(lines[:at - 1] + block + lines[at - 1:]))
    parsed = readers.read_tweakreg_log(log)
    plain = readers.read_tweakreg_log(data311 / "good/tweakreg.log")
    assert _fits(parsed) == _fits(plain)
    assert last_attempts(parsed)["jtst01a1q_flc.fits"].outcome == "reference"
    (r,) = _judge(images_aligned, Products(tweakreg_log=parsed))
    assert r.status is Status.PASS and r.observed == 2


# --- shift files and match files ------------------------------------------------------------

def test_a_shift_file_naming_images_with_directories(real_data, tmp_path):
    """SYNTHETIC from the real align_mosaics@3400b17 folder: shift657_flc.txt naming its
    images with absolute POSIX and Windows paths (as a script that passes full paths to
    TweakReg writes them). Images are matched by file name: the same verdicts, the
    written names kept."""
    src = real_data / "tweakreg_runs/align_mosaics_3400b17"
    folder = tmp_path / "paths"
    shutil.copytree(src, folder)
    sf = folder / "shift657_flc.txt"
    rows = sf.read_text().splitlines(keepends=True)
    rows = [("C:\\data\\mosaic\\" if i % 2 else "/home/user/mosaic/") + line
            if line.startswith("ick9") else line for i, line in enumerate(rows)]
    sf.write_text("".join(rows))
    products = readers.load_products(readers.find_products(folder))
    original = readers.load_products(readers.find_products(src))
    assert products.stale == ()
    (got,) = [s for s in products.shiftfiles if s.name == "shift657_flc.txt"]
    (want,) = [s for s in original.shiftfiles if s.name == "shift657_flc.txt"]
    assert [r.image for r in got.rows] == [r.image for r in want.rows]
    assert got.rows[0].written == "/home/user/mosaic/ick905k5q_flc.fits"
    assert got.rows[1].written == "C:\\data\\mosaic\\ick905keq_flc.fits"
    assert got.frame_scale == want.frame_scale


def test_rotations_that_wrap(data311, tmp_path):
    """Real 3.11 general fit: "<rotation> and skew: 179.9999947 359.9978304" (the mean
    and difference of axis rotations 0.0011 and 359.9989) is a rotation of -5e-6 deg with
    a skew of -0.0022 deg; in the log, "<ROT>: 179.9999947 SKEW: 359.9978304" alike.
    SYNTHETIC: an identity fit's header "<rotation> and skew: 180 -360", with and without
    its "X and Y rotation: 360 0" line; shift rows "360.000000" and "0.000000" for one
    solution. Every angle lands in (-180, 180]."""
    fm = readers.read_fit_matches(data311 / "general/jtst01a2q_flc_catalog_fit.match")
    assert fm.header["xrot"] == pytest.approx(0.001079522707)
    assert fm.header["yrot"] == pytest.approx(-0.0010901, abs=1e-9)
    assert fm.header["rot"] == pytest.approx(-5.3e-6, abs=1e-7)
    assert fm.header["skew"] == pytest.approx(-0.0021696, abs=1e-7)
    log = readers.read_tweakreg_log(data311 / "general/tweakreg.log")
    fit = next(f for f in log.fits if f.image == "jtst01a2q_flc.fits")
    assert fit.rot == pytest.approx(-5.3e-6, abs=1e-7)  # "PROPER ROT: 359.9999947"
    assert fit.skew == pytest.approx(fm.header["skew"], abs=1e-9)
    assert fit.extra["ROT"] == pytest.approx(fm.header["rot"], abs=1e-9)

    lines = _lines(data311 / "good/jtst01a2q_flc_catalog_fit.match")
    for keep_axes in (True, False):
        edited = []
        for line in lines:
            if "X and Y rotation" in line:
                if keep_axes:
                    edited.append("#    X and Y rotation: 360  0\n")
                continue
            edited.append("#    <rotation> and skew: 180  -360\n"
                          if "<rotation> and skew" in line else line)
        path = tmp_path / f"axes{keep_axes}_catalog_fit.match"
        path.write_text("".join(edited))
        header = readers.read_fit_matches(path).header
        assert (header["rot"], header["skew"]) == (0.0, 0.0)

    text = (data311 / "good/shift_good.txt").read_text()
    text = text.replace("359.999991", "360.000000").replace(
        "jtst01a1q_flc.fits    0.000000  0.000000    0.000000",
        "jtst01a1q_flc.fits    0.000000  0.000000    360.000000")
    path = tmp_path / "shift_good.txt"
    path.write_text(text)
    rows = readers.read_shiftfile(path).rows
    assert [r.rot for r in rows[:2]] == [0.0, 0.0]
    assert rows[0].is_reference


@pytest.mark.parametrize("degrees, wrapped", [
    (0.0, 0.0), (360.0, 0.0), (-360.0, 0.0), (180.0, 180.0), (-180.0, 180.0),
    (359.75, -0.25), (-359.75, 0.25), (540.0, 180.0), (190.0, -170.0)])
def test_wrap_angle(degrees, wrapped):
    assert wrap_angle(degrees) == pytest.approx(wrapped, abs=1e-12)
    assert math.isnan(wrap_angle(math.nan))


def test_shift_file_pixels_are_the_reference_frames(real_data):
    """align_mosaics@3400b17: the UVIS tiles (0.0396"/px detector) were fitted to the
    F160W mosaic, so shift657_flc.txt's shifts and rms are in that mosaic's 0.08"/px
    pixels, told by the tiles' match files (x_ref, y_ref against RA, Dec); the IR tiles'
    shift160_flt.txt is in the IR frame's 0.128"/px. A consumer converts with these,
    never with the input detector's scale."""
    products = readers.load_products(readers.find_products(
        real_data / "tweakreg_runs/align_mosaics_3400b17"))
    scales = {sf.name: sf for sf in products.shiftfiles}
    assert scales["shift657_flc.txt"].frame_scale == pytest.approx(0.0800, abs=2e-4)
    assert scales["shift160_flt.txt"].frame_scale == pytest.approx(0.1283, abs=5e-4)
    assert "12 *_catalog_fit.match" in scales["shift657_flc.txt"].frame_scale_from
    # the file alone cannot tell its frame
    assert readers.read_shiftfile(scales["shift657_flc.txt"].path).frame_scale is None


def test_without_match_files_the_reference_exposure_tells_the_frame(data311, real_data,
                                                                    tmp_path):
    """The 3.11 'good' run without its match files: the log says the shift file's run
    matched every image to jtst01a1q_flc.fits, and that exposure is among the inputs
    (here the real ACS/WFC header, IDCSCALE 0.05"/px, under that name): the frame is its
    undistorted WCS. Without it among the inputs the frame stays unknown."""
    folder = tmp_path / "good"
    shutil.copytree(data311 / "good", folder)
    for match in folder.glob("*_catalog_fit.match"):
        match.unlink()
    reference = tmp_path / "jtst01a1q_flc.fits"
    shutil.copy(real_data / "headers/sample_flc_header.fits", reference)
    paths = readers.find_products(folder)
    (sf,) = readers.load_products(paths, inputs=[reference]).shiftfiles
    assert sf.frame_scale == pytest.approx(0.05)
    assert sf.frame_scale_from.startswith("its reference image jtst01a1q_flc.fits")
    (alone,) = readers.load_products(paths).shiftfiles
    assert alone.frame_scale is None and alone.frame_scale_from == ""


@pytest.mark.parametrize("mama", ["SBC", "STIS/NUV-MAMA", "STIS/FUV-MAMA"])
def test_mama_cte_notice_and_no_cr_mask_with_driz_cr_off_are_benign(tmp_path, mama):
    """SYNTHETIC lines in drizzlepac 3.11's own words: acsData.py:214 / stisData.py:197 /
    stisData.py:310 print "WARNING: No cte correction will be made for this <det> data."
    (a MAMA counts photons: no charge transfer), and adrizzle.py:743 logs "No CR mask
    file found! ..." whenever driz_cr is off (the logged parameter ``driz_cr :
    False``). Neither is notable; the same CR line with driz_cr on still warns, and
    a CTE notice for a CCD (no such line exists in drizzlepac) would still warn."""
    def log(driz_cr: str, det: str) -> Path:
        path = tmp_path / f"{driz_cr}.log"
        path.write_text("\n".join([
            "AstroDrizzle Version 3.11.0 started at: 21:00:00.000 (06/12/2026)",
            f"\tdriz_cr :\t{driz_cr}",
            f"WARNING: No cte correction will be made for this {det} data.",
            "WARNING: No CR mask file found! Input DQ array not updated.",
            "Trailer file written to: astrodrizzle.log"]) + "\n")  # a console capture
        return path
    assert readers.read_drizzle_log(log("False", mama)).notable == ()
    kinds = [n.kind for n in readers.read_drizzle_log(log("True", "WFC")).notable]
    assert kinds == ["log-warning", "no-cr-mask"]


def test_a_pasted_crash_is_read_only_when_its_traceback_runs_through_tweakreg(tmp_path):
    """The real paste of spacetelescope/notebooks#143 (no banner, only a traceback
    through drizzlepac/tweakreg.py) is one cut run that stopped with its KeyError. The
    same traceback with its frames moved into drizzlepac/astrodrizzle.py (SYNTHETIC) is
    no TweakReg log: it is refused, naming the file."""
    real = (Path(__file__).parent / "data" / "real" / "corpus" / "sphy2016-notebooks143"
            / "tweakreg_updatehdr_crash" / "tweakreg_console.log")
    log = readers.read_tweakreg_log(real)
    (run,) = log.runs
    assert run.stopped.endswith('KeyError: "Keyword \'CTYPE1O\' not found."')
    assert log.spans == ((1, None),) and log.fits == ()
    moved = tmp_path / "tweakreg.log"
    moved.write_text(real.read_text().replace("drizzlepac/tweakreg.py",
                                              "drizzlepac/astrodrizzle.py"))
    with pytest.raises(readers.ProductReadError, match="tweakreg.log is not a TweakReg"):
        readers.read_tweakreg_log(moved)
