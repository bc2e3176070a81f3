"""Every check's verdict on the real WFC3 TweakReg runs (2019 STScI notebooks, copied in
``tests/data/real/tweakreg_runs``), judged as products mode judges them, with the
reasoning a careful astronomer would give."""
from __future__ import annotations

import hashlib

import pytest
from real_verdicts import counts, verdicts

from hst_align_qa.checks.result import Status


@pytest.fixture(scope="module")
def mosaics(real_data):
    return verdicts(real_data / "tweakreg_runs" / "align_mosaics")


@pytest.fixture(scope="module")
def mosaics_3400b17(real_data):
    """The same folder at 3400b17, whose log holds the run that wrote the UVIS files."""
    return verdicts(real_data / "tweakreg_runs" / "align_mosaics_3400b17")


def test_mosaics_ir_tiles_pass_fit_rms(mosaics):
    """F160W tiles fitted to each other: 0.040-0.063 IR px = 5-8 mas, better than the
    notebooks' 0.1 px (13 mas) for IR."""
    ir = [r for r in mosaics["fit_rms"] if r.subject.startswith("shift160")]
    assert len(ir) == 8 and {r.status for r in ir} == {Status.PASS}
    assert {r.details.get("detector") for r in ir if r.observed} == {"WFC3/IR"}


def test_mosaics_uvis_tiles_warn_on_fit_rms(mosaics_3400b17):
    """F657N tiles fitted to the F160W mosaic (0.08"/px): 6-17 mas, as good as an
    IR-resolution reference allows and within drizzlepac's 20 mas, but not UVIS's
    0.1 px (4 mas): every tile warns, none fails. (The issue measured "4-8 mas" by taking
    the shift file's pixels for UVIS pixels; they are the mosaic's, twice as large.)"""
    uvis = [r for r in mosaics_3400b17["fit_rms"] if r.subject.startswith("shift657")]
    assert len(uvis) == 12 and {r.status for r in uvis} == {Status.WARN}
    assert max(r.details["yrms_mas"] for r in uvis) == pytest.approx(16.5, abs=0.1)


def test_mosaics_log_records_a_crashed_run(mosaics):
    """The runfile's second run (the UVIS tiles against f160w_drz_sci.fits) died in source
    finding: "An unhandled exception ocurred: KeyError: Extension ('', 1) not found", right
    after its trailer line (drizzlepac writes the trailer line first). A careful
    astronomer does not sign off a folder whose log ends in a crash: the dataset fails,
    naming the line, and the last logged run aligned nothing."""
    (log,) = [r for r in mosaics["pipeline_log"] if r.status is Status.FAIL]
    assert "line 746" in log.message and "KeyError" in log.message
    (aligned,) = mosaics["images_aligned"]
    assert aligned.status is Status.FAIL and "KeyError" in aligned.message


def test_mosaics_uvis_products_are_leftovers_of_a_run_not_in_the_log(mosaics):
    """The crash does not make the older UVIS files current. The crashed run 2 was the
    last attempt on the twelve UVIS tiles and fitted none of them, yet the folder holds
    shift657_flc.txt and twelve ick90[5-8]*_flc_catalog_fit.match files with fits: git
    history (align_mosaics_3400b17/README.md) shows them byte-identical to those of
    commit 3400b17, written by a run that is not in this log. They are stale: the
    dataset fails stale_products naming each file. (This assertion said "nothing stale"
    before: a crashed run counted as one that "ended normally without fitting
    anything".) The IR files of run 1 stay current."""
    failed = {r.subject: r.message for r in mosaics["stale_products"]
              if r.status is Status.FAIL}
    uvis = {f"ick90{v}_flc_catalog_fit.match" for v in
            ("5k5q", "5keq", "5knq", "6kwq", "6l5q", "6leq", "7nkq", "7o1q", "7ouq",
             "8pbq", "8pkq", "8ptq")}
    assert set(failed) == {"shift657_flc.txt"} | uvis
    assert "written by a run that is not in tweakreg.log" in failed["shift657_flc.txt"]
    assert "run 2 of 2 (line 513), stopped before fitting it" in failed["shift657_flc.txt"]
    assert "KeyError" in failed["shift657_flc.txt"]
    assert all("a run that is not in this log" in failed[name] for name in uvis)
    assert counts(mosaics["stale_products"]) == {"fail": 13}
    # what is left is run 1's: the IR tiles alone are measured
    assert {r.subject.split(":")[0] for r in mosaics["fit_rms"]} == {"shift160_flt.txt"}


def _git_blob(path) -> str:
    """git's object id of a file's bytes (``git hash-object``)."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_mosaics_uvis_files_are_those_of_commit_3400b17(real_data):
    """The git-history claim, checked on the copies: every UVIS alignment file of the
    72c8274 folder has the blob id the 3400b17 folder's README records (from `git
    rev-parse 3400b17:...` on the repository), and so do the copies of 3400b17."""
    old, new = (real_data / "tweakreg_runs" / name for name in
                ("align_mosaics_3400b17", "align_mosaics"))
    table = {}
    for line in (old / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and len(cells[1]) == 40:
            table[cells[0]] = (cells[1], cells[2] == "yes")
    assert len(table) == 22
    assert all(_git_blob(old / name) == blob for name, (blob, _) in table.items())
    same = {name for name, (_, same) in table.items() if same}
    assert same == {"shift657_flc.txt"} | {p.name for p in new.glob("ick90[5-8]*_flc_"
                                                                      "catalog_fit.match")}
    assert all(_git_blob(new / name) == table[name][0] for name in same)


def test_mosaics_at_3400b17_are_clean(mosaics_3400b17):
    """The folder at 3400b17, whose log holds the run that wrote the UVIS files (run 2,
    12 fits, "Writing out shiftfile : shift657_flc.txt"): nothing stale, nothing failed;
    the UVIS tiles fitted to the IR mosaic warn on fit_rms, as they do at 72c8274."""
    got = mosaics_3400b17
    failing = {name: [r.subject for r in rs if r.status in (Status.FAIL, Status.ERROR)]
               for name, rs in got.items()}
    assert not any(failing.values()), failing
    assert counts(got["stale_products"]) == {"pass": 1}
    assert "2 shift file(s) and 19" in got["stale_products"][0].message
    assert counts(got["images_aligned"]) == {"pass": 1}
    assert got["images_aligned"][0].observed == 12


def test_mosaics_geometry_is_plausible_and_clean(mosaics_3400b17):
    """Rotations <= 0.0135 deg, scales <= 1.2e-4: plausible. No exposures here, but each
    tile's match file gives its fit frame's scale (0.128"/px for the IR tiles, 0.08"/px
    of the F160W mosaic for the UVIS ones), so the arcsec search radius (for the IR run,
    the one whose parameters the log holds) and 20 mas are put in the shift file's
    pixels; residuals without structure; three UVIS tiles rest on 20-24 matches
    (warn)."""
    sp = mosaics_3400b17["solution_plausible"]
    assert set(counts(sp)) == {"pass"}
    ir = next(r for r in sp if r.subject == "shift160_flt.txt:ick901hzq_flt.fits")
    assert "searchrad 2 arcsec = 15.6 px" in ir.message  # 2" in the 0.128"/px frame
    assert counts(mosaics_3400b17["residual_correlation"]) == {"pass": 19}
    assert counts(mosaics_3400b17["shiftfile_nans"]) == {"pass": 20}
    assert counts(mosaics_3400b17["match_counts"]) == {"pass": 16, "warn": 3}


def test_catalogs_judged_on_the_gaia_fit(real_data):
    """align_to_catalogs: the same three UVIS exposures fitted to SDSS, then to Gaia.
    The Gaia fit (0.9-1.7 mas, general geometry) passes every check that applies; the
    SDSS shift file is a leftover of the earlier attempt: the only failure."""
    got = verdicts(real_data / "tweakreg_runs" / "align_to_catalogs")
    failing = {name: [r.subject for r in rs if r.status is Status.FAIL]
               for name, rs in got.items()}
    assert {k: v for k, v in failing.items() if v} == {"stale_products": ["SDSS_shifts.txt"]}
    assert counts(got["fit_rms"]) == {"pass": 3}
    assert {r.details["detector"] for r in got["fit_rms"]} == {"WFC3/UVIS"}
    # the one warning: the three exposures of visit ibwb01, each fitted to Gaia, disagree
    # by 0.43 px = 17 mas, 0.85 of drizzlepac's 20 mas consistency limit (the rootname
    # ibwb01xxq_flc tells WFC3/UVIS, so 20 mas can be put in pixels without headers)
    warns = [(name, r.subject) for name, rs in got.items() for r in rs
             if r.status is Status.WARN]
    assert warns == [("solution_plausible", "Gaia_shifts.txt:visit ibwb01")]
