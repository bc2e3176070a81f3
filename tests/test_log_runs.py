"""Log semantics on real TweakReg/AstroDrizzle logs: only the lines inside a task's runs
count, other code's noise never fails a dataset, a traceback inside a run does.

Every case starts from a real log (drizzlepac 3.11 products in ``tests/data/tweakreg_3.11``
or the 2019 STScI notebook outputs in ``tests/data/real``) and changes only what the
case is about, the way it happens in a notebook or a shell session.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from hst_align_qa.checks import readers
from hst_align_qa.checks.pipeline_log import pipeline_log
from hst_align_qa.checks.products import Products
from hst_align_qa.checks.registry import run_check, spec_of
from hst_align_qa.checks.result import Status
from hst_align_qa.checks.thresholds import ThresholdTable

IPYTHON = ("[ERROR   ] Invalid alias: The name clear can't be aliased because it is another "
           "magic command.\n")


def verdict(log_kind: str, path: Path):
    """``pipeline_log``'s result on one log, through the registry as the plugin runs it."""
    log = (readers.read_tweakreg_log if log_kind == "tweakreg" else
           readers.read_drizzle_log)(path)
    products = Products(**{"tweakreg_log" if log_kind == "tweakreg" else "drizzle_log": log})
    (result,) = run_check(spec_of(pipeline_log), products,
                          ThresholdTable.default().lookup("pipeline_log"), "d")
    return result


def test_ipython_noise_after_the_trailer_is_no_failure(data311, tmp_path):
    """A careful astronomer's verdict: pass. The run ended normally ("Trailer file
    written"); what the notebook's logger wrote afterwards is not AstroDrizzle's."""
    text = (data311 / "good/astrodrizzle.log").read_text()
    log = tmp_path / "astrodrizzle.log"
    log.write_text(text + IPYTHON * 4 + "[ERROR   ] some other tool: it broke\n")
    r = verdict("drizzle", log)
    assert r.status is Status.PASS, r.message
    assert "in its 1 run(s)" in r.message


def test_ipython_noise_inside_a_run_is_no_failure(data311, tmp_path):
    lines = (data311 / "good/astrodrizzle.log").read_text().splitlines(keepends=True)
    log = tmp_path / "astrodrizzle.log"
    log.write_text("".join(lines[:100] + [IPYTHON] + lines[100:]))
    assert verdict("drizzle", log).status is Status.PASS


def test_deprecation_warnings_inside_a_tweakreg_run_give_no_warn(data311, tmp_path):
    """astropy's and numpy's warnings land in the runfile when a notebook's logger is
    set up so; they say nothing about the fit."""
    lines = (data311 / "good/tweakreg.log").read_text().splitlines(keepends=True)
    noise = ["[WARNING ] AstropyDeprecationWarning: The update_default_config function is "
             "deprecated and may be removed in a future version.\n",
             "[WARNING ] DeprecationWarning: pkg_resources is deprecated as an API\n",
             "[WARNING ] RuntimeWarning: invalid value encountered in divide\n"]
    log = tmp_path / "tweakreg.log"
    log.write_text("".join(lines[:60] + noise + lines[60:]))
    assert verdict("tweakreg", log).status is Status.PASS


def test_a_traceback_inside_a_run_fails_naming_the_exception(data311, tmp_path):
    """A Python traceback printed into the log mid-run (no [ERROR] line before it) means
    the run died there: fail, naming the exception."""
    lines = (data311 / "good/astrodrizzle.log").read_text().splitlines(keepends=True)
    crash = ["Traceback (most recent call last):\n",
             '  File "drizzlepac/drizCR.py", line 296, in rundrizCR\n',
             "    snr = float(x)\n",
             "ValueError: could not convert string to float: 'abc'\n"]
    log = tmp_path / "astrodrizzle.log"
    log.write_text("".join(lines[:296] + crash + lines[296:]))
    r = verdict("drizzle", log)
    assert r.status is Status.FAIL
    assert "ValueError: could not convert string to float: 'abc'" in r.message
    assert "line 297 [exception] (run 1 of 1, lines 1-" in r.message


def test_the_unhandled_exception_after_the_trailer_belongs_to_its_run(real_data):
    """drizzlepac's logging wrapper writes "Trailer file written" and then the unhandled
    exception of that run (the notebook's second TweakReg run on the IR mosaic): it
    fails that run, and the message says which one."""
    r = verdict("tweakreg", real_data / "tweakreg_runs/align_mosaics/tweakreg.log")
    assert r.status is Status.FAIL
    assert "line 746 [exception] (run 2 of 2, lines 512-745)" in r.message
    assert "KeyError" in r.message


def test_concatenated_runs_each_keep_their_lines(data311, tmp_path):
    """Two runs appended to one runfile (TweakReg appends): a failure of the first is
    reported as the first run's, with both runs' line ranges known."""
    fail = (data311 / "fail/tweakreg.log").read_text()
    good = (data311 / "good/tweakreg.log").read_text()
    log = tmp_path / "tweakreg.log"
    log.write_text(fail + good)
    parsed = readers.read_tweakreg_log(log)
    assert len(parsed.spans) == 2 and all(end is not None for _, end in parsed.spans)
    assert {n.run for n in parsed.notable} == {0}
    r = verdict("tweakreg", log)
    assert r.status is Status.FAIL
    n_fail = len(fail.splitlines())
    assert f"(run 1 of 2, lines 1-{n_fail})" in r.message


def test_a_cut_run_still_counts(data311, tmp_path):
    """A log whose last run was cut off (no trailer: the process was killed) is judged
    on what it holds; the message says the run has no trailer."""
    lines = (data311 / "fail/tweakreg.log").read_text().splitlines(keepends=True)
    log = tmp_path / "tweakreg.log"
    log.write_text("".join(line for line in lines if "Trailer file written" not in line))
    r = verdict("tweakreg", log)
    assert r.status is Status.FAIL
    assert "(run 1 of 1, lines 1-end of file, no trailer)" in r.message


@pytest.mark.parametrize("folder", ["align_sparse_fields", "align_to_catalogs"])
def test_real_notebook_logs_keep_their_verdicts(real_data, folder):
    """The STScI notebooks' own logs: nothing in them failed or fell back."""
    products = readers.load_products(readers.find_products(
        real_data / "tweakreg_runs" / folder))
    for log in (products.tweakreg_log, products.drizzle_log):
        assert log is not None and log.spans and log.notable == ()


def _console(text: str) -> str:
    """What a notebook cell shows of a run: the trailer file's lines without their
    logger prefixes."""
    return "".join(line[11:] if line.startswith("[") and line[9:11] == "] " else line
                   for line in text.splitlines(keepends=True))


def test_a_console_capture_is_read_like_the_trailer_file(data311, tmp_path):
    """A careful astronomer reads the same fits from either: so does the reader, and
    pipeline_log says it judged a console capture."""
    trailer = readers.read_tweakreg_log(data311 / "fail/tweakreg.log")
    capture = tmp_path / "tweakreg.log"
    capture.write_text(_console((data311 / "fail/tweakreg.log").read_text()))
    console = readers.read_tweakreg_log(capture)
    assert console.console and not trailer.console
    assert [(f.image, f.failed, f.xrms, f.n_matches) for f in console.fits] == \
        [(f.image, f.failed, f.xrms, f.n_matches) for f in trailer.fits]
    assert [(n.line, n.kind) for n in console.notable] == \
        [(n.line, n.kind) for n in trailer.notable]
    r = verdict("tweakreg", capture)
    assert r.status is Status.FAIL and "TweakReg console capture log" in r.message


def test_an_unreadable_log_leaves_the_shift_file_verdicts_intact(data311, tmp_path):
    """tweakreg.log replaced by something that is not a TweakReg log: fit_rms and
    shiftfile_nans judge the shift file exactly as before; the dataset still fails its
    products test naming the file (qa/test_pipeline.py)."""
    import shutil

    from hst_align_qa.checks.fit_rms import fit_rms
    from hst_align_qa.checks.shiftfile_nans import shiftfile_nans

    def judged(folder):
        products = readers.load_products(readers.find_products(folder))
        out = {}
        for func in (fit_rms, shiftfile_nans):
            spec = spec_of(func)
            for r in run_check(spec, products, ThresholdTable.default().lookup(spec.name),
                               "d"):
                out[(spec.name, r.subject)] = (r.status, r.observed)
        return out, products

    good, _ = judged(data311 / "fail")
    broken = tmp_path / "fail"
    shutil.copytree(data311 / "fail", broken)
    (broken / "tweakreg.log").write_text("this is not a TweakReg log\n" * 3)
    bad, products = judged(broken)
    assert products.tweakreg_log is None
    assert products.unreadable["tweakreg_log"].startswith("tweakreg.log")
    # every shift-file row keeps its verdict; only what the log alone knows is gone:
    # jtst02b4q, which TweakReg left out of the shift file (too few sources)
    assert {k: v for k, v in good.items() if k not in bad} == {
        ("shiftfile_nans", "shift_fail.txt:jtst02b4q_flc.fits"): (Status.FAIL, 6.0)}
    assert all(bad[k] == good[k] for k in bad)


VISITS = Path(__file__).parent / "data" / "real" / "corpus" / "stsci-notebooks" / \
    "align_multiple_visits_a850875" / "tweakreg.log"


@pytest.mark.parametrize("runs, status", [(2, Status.FAIL), (3, Status.PASS)])
def test_a_failed_attempt_is_superseded_only_by_a_later_good_fit(tmp_path, runs, status):
    """The notebooks' real five-run parameter search (align_multiple_visits at a850875),
    cut after its run 2 or 3. Run 2's "Not enough matches (< 15)" for both images is the
    last attempt when the log ends there: a failure. With run 3 (both images fitted)
    after it, it is superseded: named in the message, not counted."""
    lines = VISITS.read_text().splitlines(keepends=True)
    ends = [i for i, line in enumerate(lines) if "Trailer file written" in line]
    cut = tmp_path / "tweakreg.log"
    cut.write_text("".join(lines[:ends[runs - 1] + 1]))
    result = verdict("tweakreg", cut)
    assert result.status is status, result.message
    if status is Status.PASS:
        assert result.details["superseded_lines"] == 2
        assert "Superseded by a later run's good fit" in result.message
        assert "run(s) 3 fitted j9irw4b1q_flc.fits" in result.message
