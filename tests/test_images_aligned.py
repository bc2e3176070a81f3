""""Nothing aligned" is not a pass: the ``images_aligned`` check, on real TweakReg
outputs and on real logs cut to the cases that happen (TweakReg quit; every row NaN;
no alignment products at all: not applicable)."""
from __future__ import annotations

from pathlib import Path

from hst_align_qa.checks import readers
from hst_align_qa.checks.fit_rms import fit_rms
from hst_align_qa.checks.images_aligned import images_aligned
from hst_align_qa.checks.match_counts import match_counts
from hst_align_qa.checks.products import Context, Products
from hst_align_qa.checks.registry import run_check, spec_of
from hst_align_qa.checks.result import Status
from hst_align_qa.checks.shiftfile_nans import shiftfile_nans
from hst_align_qa.checks.stale_products import stale_products
from hst_align_qa.checks.thresholds import ThresholdTable

QUIT = ("[INFO    ] \n"
        "[INFO    ] WARNING: Fewer than two images available for alignment. Quitting...\n"
        "[INFO    ] \n"
        "[WARNING ] Fewer than two images available for alignment. Quitting...\n"
        "[INFO    ] Trailer file written to: tweakreg.log\n")


def verdict(products: Products):
    (r,) = run_check(spec_of(images_aligned), products,
                     ThresholdTable.default().lookup("images_aligned"), "d")
    return r


def quitting_log(data311: Path, tmp_path: Path) -> Path:
    """The real 3.11 runfile up to its image list, then TweakReg's own quit lines (it
    found one usable image: tweakreg.py, "Fewer than two images available ...")."""
    lines = (data311 / "fail/tweakreg.log").read_text().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if "Finding shifts for" in line)
    path = tmp_path / "tweakreg.log"
    path.write_text("".join(lines[:cut]) + QUIT)
    return path


def test_real_runs_aligned_their_images(real_data, data311):
    """The last of the four runs in the notebook's sparse-field runfile aligned its three
    images; the 3.11 'fail' set aligned one of three (the others failed): both are
    something, and the message says what failed."""
    sparse = readers.load_products(readers.find_products(
        real_data / "tweakreg_runs/align_sparse_fields"))
    r = verdict(sparse)
    assert r.status is Status.PASS and r.observed == 3
    assert "tweakreg.log run 4 of 4 (line 704) aligned 3 image(s)" in r.message
    fail = readers.load_products(readers.find_products(data311 / "fail"))
    r = verdict(fail)
    assert r.status is Status.PASS and r.observed == 1
    assert ("could not align jtst02b4q_flc.fits (fewer than 15 sources: not aligned), "
            "jtst02b3q_flc.fits (Not enough matches (< 15))") in r.message


def test_tweakreg_quit_fails_quoting_its_line(data311, tmp_path):
    log = readers.read_tweakreg_log(quitting_log(data311, tmp_path))
    r = verdict(Products(tweakreg_log=log))
    assert r.status is Status.FAIL and r.observed == 0
    assert "TweakReg quit in tweakreg.log run 1 of 1" in r.message
    assert "Fewer than two images available for alignment. Quitting..." in r.message


def test_every_shift_file_row_nan_fails(data311, tmp_path):
    text = (data311 / "fail/shift_fail.txt").read_text()
    rows = [line if line.startswith("#") or not line.strip() else
            " ".join([line.split()[0]] + ["nan"] * 6) + "\n"
            for line in text.splitlines(keepends=True)]
    path = tmp_path / "shift_fail.txt"
    path.write_text("".join(rows))
    r = verdict(Products(shiftfiles=(readers.read_shiftfile(path),)))
    assert r.status is Status.FAIL and "(every row is NaN)" in r.message


def test_a_drizzle_only_folder_is_not_applicable(real_data):
    """A folder with a drizzled product and no TweakReg product (a drizzle-only run):
    nothing says an alignment was attempted, so "nothing aligned" does not apply: skip,
    saying why, never a failure. So do the other alignment checks (fit_rms also reads
    the context, which is always there: it measures nothing and says the same)."""
    drc = readers.read_drizzled(real_data / "headers/sample_mvm_drc.fits")
    products = Products(drc=drc, context=Context("ACS", "WFC"))
    r = verdict(products)
    assert r.status is Status.SKIP
    assert r.message.startswith("not applicable: no TweakReg products")
    for func in (shiftfile_nans, stale_products, match_counts, fit_rms):
        (r,) = run_check(spec_of(func), products,
                         ThresholdTable.default().lookup(spec_of(func).name), "d")
        assert r.status is Status.SKIP
        assert r.message.startswith("not applicable: no TweakReg products"), r.message


def test_a_log_without_shift_file_is_no_drizzle_only_folder(data311):
    """With a TweakReg log present, a check that needs a shift file says that one is
    missing, not that the folder has no TweakReg products."""
    log = readers.read_tweakreg_log(data311 / "fail/tweakreg.log")
    (r,) = run_check(spec_of(shiftfile_nans), Products(tweakreg_log=log),
                     ThresholdTable.default().lookup("shiftfile_nans"), "d")
    assert r.status is Status.SKIP and r.message == \
        "not applicable: no shiftfiles among the products"


def test_only_stale_files_left_align_nothing(real_data):
    """Every alignment file set aside as stale and no log to say what the last attempt
    did: nothing current was aligned."""
    products = readers.load_products(readers.find_products(
        real_data / "tweakreg_runs/align_sparse_fields"))
    r = verdict(Products(stale=products.stale))
    assert r.status is Status.FAIL and r.observed == 0
    assert "all from an earlier attempt" in r.message


def test_an_unreadable_log_alone_is_an_error_not_a_skip(tmp_path):
    (tmp_path / "tweakreg.log").write_text("this is not a TweakReg log\n")
    products = readers.load_products(readers.find_products(tmp_path))
    r = verdict(products)
    assert r.status is Status.ERROR and "tweakreg.log" in r.message


def test_nothing_aligned_exits_non_zero(pytester, data311, tmp_path):
    """Products mode on a directory whose TweakReg quit: the gate fails (exit 1)."""
    folder = tmp_path / "quit"
    folder.mkdir()
    quitting_log(data311, folder)
    pytester.path.joinpath("test_checks.py").write_text(
        (Path(__file__).parents[1] / "qa" / "test_checks.py").read_text())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider",
                                           f"--products-dir={folder}")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*images_aligned*TweakReg quit in tweakreg.log run 1 "
                                 "of 1*"])
