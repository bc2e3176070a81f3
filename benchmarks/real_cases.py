"""Detection and false-alarm rows of stale_products, solution_plausible and wcs_consistency
on real recorded outputs, with the faults real users meet injected into copies of them.

    python benchmarks/real_cases.py --out docs/detection-real.md

A fault is caught when its check raises its alarm: FAIL, or WARN for a check with no fail
level (attempt_spread). Real material (``tests/data/real``): the 2019 STScI notebook
folders of TweakReg products (align_mosaics at two commits of spacetelescope/notebooks:
3400b17, whose log wrote its UVIS files, and 72c8274, whose log's last run crashed and
left them stale) and the real ACS/WFC, WFC3/UVIS and WFC3/IR exposure headers. Clean rows
judge them as they are (an alarm there is a false alarm); fault rows judge a copy with
one fault, built the way it happens (runs of the real log cut or concatenated, a wrong
solution in a real shift file or log, a header rewritten). The synthetic datasets cannot
show these faults: the pipeline never leaves stale files, and each synthetic visit has one
exposure.

The corpus (``tests/data/real/corpus``: real runs of many sources, each folder judged as
recorded) gives a second table: every registered check runs on every corpus folder, and
each verdict a corpus test states (``CORPUS_VERDICTS`` in benchmarks/real_cases.py: folder, check, subject,
expected verdict, the test that states it) is compared with the gate's. A stated fault is
caught when the check raises its alarm (an ERROR is not a catch). A false alarm is a WARN,
FAIL or ERROR where the corpus calls the run good for that check ("pass"), or not
applicable ("n/a": a drizzle-only folder), or a FAIL or ERROR where it says the check may
warn but must not fail ("no-fail"). Alarms on (folder, check) pairs no test speaks about
are counted apart: they are neither caught faults nor false alarms.
"""
from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from astropy.io import fits

from hst_align_qa.checks.products import Context, Products
from hst_align_qa.checks.readers import find_products, load_products, read_input_exposure
from hst_align_qa.checks.registry import discover, run_check
from hst_align_qa.checks.result import Status
from hst_align_qa.fixtures.verdicts.judge import threshold_table

REPO = Path(__file__).resolve().parents[1]
REAL = REPO / "tests" / "data" / "real"
RUNS = REAL / "tweakreg_runs"
CHECKS = ("stale_products", "solution_plausible", "wcs_consistency", "attempt_spread")
CORPUS = REAL / "corpus"

_ACS, _DRZ, _HSTN, _AXE = ("test_corpus_acs_notebook.py", "test_corpus_drizzlepac.py",
                           "test_corpus_hst_notebooks.py", "test_corpus_hstaxe.py")
_WL, _KL, _SP = ("test_corpus_wfc3library.py", "test_corpus_kevinluhman_drizzlepac188.py",
                 "test_corpus_sphy2016_notebooks143.py")
_MM, _ST = "test_corpus_manuelmarcano22_ngc6397.py", "test_corpus_stsci_notebooks.py"
_NA3 = ("images_aligned", "fit_rms", "stale_products")


def _na(folder: str, test: str, checks=_NA3) -> list[tuple]:
    return [(folder, check, None, "n/a", test) for check in checks]


# The verdicts the corpus tests state, as data: (folder under tests/data/real/corpus,
# check, subject or None for all its results, expected, "file::test"). expected: "fail"
# (a fault the check must raise), "pass" (good: no WARN/FAIL), "no-fail" (may warn),
# "n/a" (not applicable: skipped). Copied from the tests' assertions, not from the gate.
CORPUS_VERDICTS: list[tuple[str, str, str | None, str, str]] = [
    ("acs-notebook/sbc_dark_analysis_drizzle_92e2532", "pipeline_log", None, "pass",
     f"{_ACS}::test_sbc_four_filter_drizzles_pass"),
    *_na("acs-notebook/sbc_dark_analysis_drizzle_92e2532",
         f"{_ACS}::test_sbc_drizzle_only_has_no_alignment_verdict"),
    ("acs-notebook/sbc_dark_analysis_masterdark_92e2532", "pipeline_log", None, "pass",
     f"{_ACS}::test_sbc_masterdark_drizzle_passes"),
    *_na("acs-notebook/sbc_dark_analysis_masterdark_92e2532",
         f"{_ACS}::test_sbc_drizzle_only_has_no_alignment_verdict"),
    ("drizzlepac/tests_wfpc2_229b7f6", "pipeline_log", None, "pass",
     f"{_DRZ}::test_pytest_capture_of_four_wfpc2_drizzles_is_read"),
    *_na("drizzlepac/tests_wfpc2_229b7f6",
         f"{_DRZ}::test_drizzle_only_folder_has_no_alignment_verdict",
         _NA3 + ("match_counts",)),
    ("drizzlepac/tests_wfpc2_229b7f6", "*", None, "no-fail", f"{_DRZ}::test_nothing_fails"),
    ("hst-notebooks/align_multiple_visits_err_30c5f6f", "pipeline_log", None, "fail",
     f"{_HSTN}::test_astrodrizzle_crash_in_a_ci_report_fails"),
    *_na("hst-notebooks/align_multiple_visits_err_30c5f6f",
         f"{_HSTN}::test_drizzle_only_crash_has_no_alignment_verdict"),
    *[row for run in ("sbc_pr130l_drizzle_6f11a26", "sbc_f165lp_drizzle_6f11a26")
      for row in [(f"hstaxe/{run}", "pipeline_log", None, "pass",
                   f"{_AXE}::test_sbc_drizzle_with_cte_notice_passes[{run}]"),
                  *_na(f"hstaxe/{run}", f"{_AXE}::test_drizzle_only_has_no_alignment_verdict")]],
    ("hstaxe/acs_wfc_g800l_drizzle_c6d8f03", "pipeline_log", None, "pass",
     f"{_AXE}::test_acs_wfc_single_grism_drizzle_passes"),
    ("hstaxe/wfc3_ir_direct_drizzle_5d6da0e", "pipeline_log", None, "pass",
     f"{_AXE}::test_wfc3_ir_two_filter_drizzles_pass"),
    ("hstaxe/wfc3_uvis_grism_drizzle_a9fb292", "pipeline_log", None, "pass",
     f"{_AXE}::test_wfc3_uvis_drizzle_with_astropy_header_warnings_passes"),
    *[row for run in ("acs_wfc_g800l_drizzle_c6d8f03", "wfc3_ir_direct_drizzle_5d6da0e",
                      "wfc3_uvis_grism_drizzle_a9fb292")
      for row in _na(f"hstaxe/{run}", f"{_AXE}::test_drizzle_only_has_no_alignment_verdict")],
    ("wfc3library/ir_scattered_light_drizzle_0c88aa1", "pipeline_log", None, "pass",
     f"{_WL}::test_ir_drizzle_without_cr_steps_passes"),
    *_na("wfc3library/ir_scattered_light_drizzle_0c88aa1",
         f"{_WL}::test_ir_drizzle_only_has_no_alignment_verdict"),
    ("kevinluhman-drizzlepac188/tweakreg_dash_crash", "pipeline_log", None, "fail",
     f"{_KL}::test_tweakreg_python2_crash_fails_naming_the_exception"),
    ("kevinluhman-drizzlepac188/tweakreg_dash_crash", "images_aligned", None, "fail",
     f"{_KL}::test_alignment_attempted_and_failed"),
    ("sphy2016-notebooks143/tweakreg_updatehdr_crash", "pipeline_log", None, "fail",
     f"{_SP}::test_tweakreg_header_update_crash_fails_naming_the_exception"),
    ("sphy2016-notebooks143/tweakreg_updatehdr_crash", "images_aligned", None, "fail",
     f"{_SP}::test_alignment_attempted_and_failed"),
    *[("manuelmarcano22-ngc6397/try_u97101_pair", check, None, "pass",
       f"{_MM}::test_try_pair_five_mas_fit_passes")
      for check in ("fit_rms", "images_aligned", "match_counts", "stale_products")],
    ("manuelmarcano22-ngc6397/try_u97101_pair", "residual_correlation", None, "no-fail",
     f"{_MM}::test_try_pair_residual_structure_is_not_a_failure"),
    ("manuelmarcano22-ngc6397/try_u97101_pair", "pipeline_log", None, "no-fail",
     f"{_MM}::test_try_pair_drizzle_log_has_no_error"),
    *[("manuelmarcano22-ngc6397/example_ua0605", check, None, "pass",
       f"{_MM}::test_example_six_c0m_ten_mas_fit_passes")
      for check in ("fit_rms", "images_aligned", "match_counts")],
    *[("manuelmarcano22-ngc6397/ngc6397_f336w", check, None, "pass",
       f"{_MM}::test_ngc6397_f336w_126_images_pass")
      for check in ("fit_rms", "images_aligned", "match_counts")],
    *[("manuelmarcano22-ngc6397/ngc6397_f606w", check, None, "pass",
       f"{_MM}::test_ngc6397_f606w_126_images_pass") for check in ("fit_rms", "images_aligned")],
    *[("manuelmarcano22-ngc6397/f336w_bychip_rerun", check, None, "pass",
       f"{_MM}::test_bychip_rerun_agrees_with_first_attempt")
      for check in ("fit_rms", "images_aligned", "stale_products")],
    ("manuelmarcano22-ngc6397/f336w_bychip_rerun", "pipeline_log", "astrodrizzle.log", "fail",
     f"{_MM}::test_bychip_drizzle_crash_fails_naming_the_exception"),
    *[("manuelmarcano22-ngc6397/try_u97101_pair_notebook", check, None, "pass",
       f"{_MM}::test_try_pair_notebook_console_is_the_same_good_run")
      for check in ("fit_rms", "images_aligned")],
    *[("manuelmarcano22-ngc6397/example_ua0605_first_notebook_run", check, None, "pass",
       f"{_MM}::test_example_first_notebook_run_passes") for check in ("fit_rms", "images_aligned")],
    *[("manuelmarcano22-ngc6397/ngc6397_f336w_first_notebook_run", check, None, "pass",
       f"{_MM}::test_ngc6397_f336w_first_notebook_run_passes")
      for check in ("fit_rms", "images_aligned", "match_counts")],
    ("stsci-notebooks/drizzle_wfpc2_cbfc37b", "fit_rms", None, "pass",
     f"{_ST}::test_wfpc2_first_run_fits_pass"),
    *[("stsci-notebooks/drizzle_wfpc2_cbfc37b", check, None, "pass",
       f"{_ST}::test_wfpc2_first_run_is_clean")
      for check in ("images_aligned", "stale_products", "match_counts")],
    ("stsci-notebooks/drizzle_wfpc2_cbfc37b", "pipeline_log", "tweakreg.log", "pass",
     f"{_ST}::test_wfpc2_first_run_is_clean"),
    ("stsci-notebooks/drizzle_wfpc2_028ae16", "stale_products", None, "fail",
     f"{_ST}::test_wfpc2_rerun_names_the_reference_match_file_as_leftover"),
    *[("stsci-notebooks/drizzle_wfpc2_028ae16", check, None, "pass",
       f"{_ST}::test_wfpc2_rerun_fits_pass") for check in ("fit_rms", "images_aligned")],
    ("stsci-notebooks/align_multiple_visits_a850875", "stale_products", None, "fail",
     f"{_ST}::test_visits_earlier_attempts_are_leftovers"),
    *[("stsci-notebooks/align_multiple_visits_a850875", check, None, "pass",
       f"{_ST}::test_visits_final_fit_passes")
      for check in ("fit_rms", "images_aligned", "match_counts")],
    ("stsci-notebooks/align_multiple_visits_a850875", "pipeline_log", "tweakreg.log", "no-fail",
     f"{_ST}::test_visits_superseded_failure_is_not_a_pipeline_failure"),
    ("stsci-notebooks/sky_matching_18b556b", "fit_rms", None, "no-fail",
     f"{_ST}::test_sky_matching_good_run"),
    *[("stsci-notebooks/sky_matching_18b556b", check, None, "pass",
       f"{_ST}::test_sky_matching_good_run") for check in ("images_aligned", "stale_products")],
    *[("stsci-notebooks/sky_matching_7d1c361", check, None, "fail",
       f"{_ST}::test_sky_matching_failed_run_with_leftovers")
      for check in ("images_aligned", "stale_products", "fit_rms")],
    ("stsci-notebooks/sky_matching_7d1c361", "pipeline_log", "tweakreg.log", "fail",
     f"{_ST}::test_sky_matching_failed_run_with_leftovers"),
    ("stsci-notebooks/sky_matching_72c8274", "pipeline_log", "tweakreg.log", "fail",
     f"{_ST}::test_sky_matching_crash_is_a_failure"),
    ("stsci-notebooks/sky_matching_72c8274", "images_aligned", None, "fail",
     f"{_ST}::test_sky_matching_crash_aligned_nothing"),
    ("stsci-notebooks/sky_matching_72c8274", "stale_products", None, "fail",
     f"{_ST}::test_sky_matching_crash_leftovers_are_named"),
    *[("stsci-notebooks/align_mosaics_3400b17", check, None, "pass",
       f"{_ST}::test_align_mosaics_clean_run")
      for check in ("stale_products", "pipeline_log", "images_aligned")],
    ("stsci-notebooks/align_mosaics_3400b17", "fit_rms", None, "no-fail",
     f"{_ST}::test_align_mosaics_clean_run"),
    ("stsci-notebooks/align_to_catalogs_c74e65e", "fit_rms", None, "pass",
     f"{_ST}::test_catalogs_first_run_gaia_fit_passes_sdss_attempt_is_stale"),
    ("stsci-notebooks/align_to_catalogs_c74e65e", "stale_products", None, "fail",
     f"{_ST}::test_catalogs_first_run_gaia_fit_passes_sdss_attempt_is_stale"),
    ("stsci-notebooks/align_to_catalogs_c74e65e", "*", None, "no-fail",
     f"{_ST}::test_catalogs_first_run_gaia_fit_passes_sdss_attempt_is_stale"),
    *[("stsci-notebooks/drizzle_wfpc2_3400b17_console", check, None, "pass",
       f"{_ST}::test_wfpc2_console_is_read_as_one_good_run")
      for check in ("images_aligned", "pipeline_log")],
    ("stsci-notebooks/drizzle_wfpc2_3400b17_console", "fit_rms", None, "no-fail",
     f"{_ST}::test_wfpc2_console_detector_told_from_rootnames"),
    *[("stsci-notebooks/align_multiple_visits_784c74f_console", check, None, "pass",
       f"{_ST}::test_doubled_logging_console_counts_each_run_once")
      for check in ("images_aligned", "fit_rms")],
    ("stsci-notebooks/align_multiple_visits_784c74f_console", "match_counts", None, "pass",
     f"{_ST}::test_doubled_logging_prefix_is_not_an_image"),
    ("stsci-notebooks/align_multiple_visits_784c74f_console", "pipeline_log",
     "tweakreg_console.log", "no-fail",
     f"{_ST}::test_doubled_logging_superseded_failure_is_not_a_pipeline_failure"),
    ("stsci-notebooks/sky_matching_72c8274_console", "pipeline_log", None, "fail",
     f"{_ST}::test_console_crash_traceback_is_read"),
    ("stsci-notebooks/sky_matching_72c8274_console", "images_aligned", None, "fail",
     f"{_ST}::test_console_crash_counts_one_run_that_aligned_nothing"),
    ("stsci-notebooks/align_sparse_fields_56d510e", "fit_rms", None, "no-fail",
     f"{_ST}::test_sparse_field_final_fit_good_earlier_tests_stale"),
    ("stsci-notebooks/align_sparse_fields_56d510e", "stale_products", None, "fail",
     f"{_ST}::test_sparse_field_final_fit_good_earlier_tests_stale"),
    *[("stsci-notebooks/align_sparse_fields_56d510e", check, None, "pass",
       f"{_ST}::test_sparse_field_final_fit_good_earlier_tests_stale")
      for check in ("images_aligned", "pipeline_log")],
]


def judge(products: Products, name: str) -> tuple[Status, str]:
    """The worst status of check ``name`` on ``products`` (as the plugin judges) and the
    count of each status."""
    spec = {s.name: s for s in discover()}[name]
    ctx, table = products.context, threshold_table()
    results = run_check(spec, products, table.lookup(
        name, instrument=ctx.instrument, detector=ctx.detector, fitgeometry=ctx.fitgeometry),
        "case", table.levels_for(name, ctx.fitgeometry))
    counts = Counter(r.status.value for r in results)
    worst = max((r.status for r in results), key=lambda s: s.rank)
    return worst, ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def alarm(check: str) -> Status:
    """The status at which ``check`` raises its alarm: FAIL, or WARN for a check whose
    levels have no fail level (attempt_spread: which attempt is wrong cannot be told)."""
    levels = threshold_table().lookup(check)
    return Status.FAIL if levels.fail is not None else Status.WARN


def copy_folder(src: Path, dst: Path, *, skip=()) -> Path:
    """Copy the files of ``src`` but ``skip`` into a new directory ``dst``."""
    dst.mkdir(parents=True)
    for f in src.iterdir():
        if f.name not in skip:
            shutil.copy(f, dst / f.name)
    return dst


def runs_of(log: Path) -> list[list[str]]:
    """The log's lines split before each "Setting up logfile" / TweakReg banner block
    (every line kept, so that runs cut or joined are real text; tests use it too)."""
    lines = log.read_text().splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if "TweakReg Version" in line]
    # a run's text begins at the "Setting up logfile" line just before its banner, if any
    starts = [i - 1 if i and "Setting up logfile" in lines[i - 1] else i for i in starts]
    return [lines[a:b] for a, b in zip(starts, starts[1:] + [len(lines)])]


def _folder(path: Path) -> Products:
    return load_products(find_products(path))


def _sparse_with_context(path: Path) -> Products:
    return dataclasses.replace(_folder(path), context=Context("ACS", "WFC", "rscale", 0.05))


def _replace_row(products: Products, image: str, **values) -> Products:
    sf = products.shiftfiles[0]
    rows = tuple(dataclasses.replace(r, **values) if r.image == image else r for r in sf.rows)
    return dataclasses.replace(products, shiftfiles=(dataclasses.replace(sf, rows=rows),))


def _exposures(tmp: Path, template: str, edits: list[dict]) -> Products:
    out = []
    for i, edit in enumerate(edits):
        path = tmp / f"x{i}_{template}"
        shutil.copy(REAL / "headers" / template, path)
        edit = dict(edit)
        drop = edit.pop("drop", None)
        with fits.open(path, mode="update") as hdul:
            for key, value in edit.items():
                for h in hdul:
                    if h.name == "SCI" or (key.startswith("0:") and h is hdul[0]):
                        h.header[key.removeprefix("0:")] = value
            for j in reversed([j for j, h in enumerate(hdul) if h.name == drop]):
                del hdul[j]
        out.append(read_input_exposure(path))
    return Products(inputs=tuple(out))


def cases(tmp: Path) -> list[tuple[str, str, str, object]]:
    """(check, kind, description, products): kind "clean" or "fault"."""
    sparse = RUNS / "align_sparse_fields"
    runs = runs_of(sparse / "tweakreg.log")
    two = copy_folder(sparse, tmp / "two", skip=("tweakreg.log", "shift814_flc_test2.txt"))
    (two / "tweakreg.log").write_text("".join(runs[2] + runs[0]))
    cut = copy_folder(sparse, tmp / "cut", skip=("tweakreg.log", "shift814_flc_test1.txt",
                                                 "shift814_flc_test2.txt"))
    last = runs[3]
    stop = next(i for i, line in enumerate(last) if "Performing fit for: j8xi0xs3q" in line)
    (cut / "tweakreg.log").write_text("".join(runs[0] + runs[1] + runs[2] + last[:stop]))
    nolog = copy_folder(sparse, tmp / "nolog", skip=("tweakreg.log", "shift814_flc_test2.txt",
                                                     "shift814_flc_test3.txt"))
    clean_sparse = copy_folder(sparse, tmp / "sparse_last",
                               skip=("shift814_flc_test1.txt", "shift814_flc_test2.txt"))
    catalogs_gaia = copy_folder(RUNS / "align_to_catalogs", tmp / "gaia",
                                skip=("SDSS_shifts.txt",))
    false_match = tmp / "false_match"
    false_match.mkdir()
    moved = "".join(runs[2]).replace("XSH: 0.1048  YSH: -0.3954", "XSH: 12.1048  YSH: 7.6046")
    (false_match / "tweakreg.log").write_text("".join("".join(r) for r in runs) + moved)
    s3 = _sparse_with_context(clean_sparse)
    row = next(r for r in s3.shiftfiles[0].rows if r.image == "j8xi0xs3q_flc.fits")
    acs, uvis, ir = "sample_flc_header.fits", "sample_svm_flc.fits", "sample_ir_flt.fits"
    return [
        ("stale_products", "clean", "align_sparse_fields, last attempt's files only",
         _folder(clean_sparse)),
        ("stale_products", "clean", "align_mosaics at notebooks@3400b17 (the log that wrote "
         "the UVIS files)", _folder(RUNS / "align_mosaics_3400b17")),
        ("stale_products", "clean", "align_to_catalogs, Gaia files only", _folder(catalogs_gaia)),
        ("stale_products", "fault", "align_sparse_fields as recorded (test1, test2 left)",
         _folder(sparse)),
        ("stale_products", "fault", "align_to_catalogs as recorded (SDSS left)",
         _folder(RUNS / "align_to_catalogs")),
        ("stale_products", "fault", "align_mosaics at notebooks@72c8274 (UVIS files of a run "
         "not in the log; its last run crashed)", _folder(RUNS / "align_mosaics")),
        ("stale_products", "fault", "good run then poor run, good match files left",
         _folder(two)),
        ("stale_products", "fault", "last run cut before two images", _folder(cut)),
        ("stale_products", "fault", "no log; match files of another attempt", _folder(nolog)),
        ("solution_plausible", "clean", "align_sparse_fields test3 (ACS/WFC context)", s3),
        ("solution_plausible", "clean", "align_mosaics@3400b17 (IR and UVIS)",
         _folder(RUNS / "align_mosaics_3400b17")),
        ("solution_plausible", "clean", "align_to_catalogs Gaia", _folder(catalogs_gaia)),
        ("solution_plausible", "fault", "50 px shift from a 20 px search",
         _replace_row(s3, "j8xi0xs0q_flc.fits", xsh=40.0, ysh=30.0)),
        ("solution_plausible", "fault", "rotation 0.3 deg", _replace_row(s3, row.image, rot=0.3)),
        ("solution_plausible", "fault", "scale 1.003", _replace_row(s3, row.image, scale=1.003)),
        ("solution_plausible", "fault", "one exposure of the visit 1 px off, rms unchanged",
         _replace_row(s3, row.image, xsh=row.xsh + 1.0)),
        ("wcs_consistency", "clean", "2 x ACS/WFC as delivered (FIT_IMG_GAIAeDR3)",
         _exposures(tmp, acs, [{}, {}])),
        ("wcs_consistency", "clean", "WFC3/UVIS as delivered (FIT_SVM_GAIAeDR3)",
         _exposures(tmp, uvis, [{}])),
        ("wcs_consistency", "clean", "WFC3/IR as delivered (FIT_REL_GAIAeDR3)",
         _exposures(tmp, ir, [{}])),
        ("wcs_consistency", "fault", "GAIADR1 mixed with GAIADR2 (drizzlepac #1021)",
         _exposures(tmp, acs, [{"WCSNAME": "IDC_4bb1536cj-FIT_REL_GAIADR1"},
                               {"WCSNAME": "IDC_4bb1536cj-FIT_REL_GAIADR2"}])),
        ("wcs_consistency", "fault", "a-priori GSC240 mixed with Gaia",
         _exposures(tmp, acs, [{}, {"WCSNAME": "IDC_4bb1536cj-GSC240"}])),
        ("wcs_consistency", "fault", "FIT_SVM_NONE (the pipeline's fit failed)",
         _exposures(tmp, uvis, [{"WCSNAME": "IDC_2731450pi-FIT_SVM_NONE"}])),
        ("wcs_consistency", "fault", "NPOL named, WCSDVARR stripped",
         _exposures(tmp, uvis, [{"drop": "WCSDVARR"}])),
        ("attempt_spread", "clean", "align_sparse_fields as recorded (poor trial, then "
         "three good)", _folder(sparse)),
        ("attempt_spread", "clean", "align_to_catalogs as recorded (SDSS, Gaia twice)",
         _folder(RUNS / "align_to_catalogs")),
        ("attempt_spread", "fault", "test3 repeated with j8xi0xs0q 14 px off at the same rms "
         "(a false match)", _folder(false_match)),
    ]


def corpus_folders() -> list[Path]:
    """Every run folder of the corpus (``corpus/<source>/<run>``)."""
    return sorted(p for p in CORPUS.glob("*/*") if p.is_dir())


def _judge_all(folder: Path) -> dict:
    """Every registered check on ``folder`` as recorded, as the plugin judges it."""
    products = load_products(find_products(folder))
    ctx, table = products.context, threshold_table()
    return {spec.name: run_check(spec, products, table.lookup(
        spec.name, instrument=ctx.instrument, detector=ctx.detector,
        fitgeometry=ctx.fitgeometry), folder.name, table.levels_for(spec.name,
                                                                    ctx.fitgeometry))
            for spec in discover()}


def _expanded(judged: dict) -> list[tuple[str, str, str | None, str, str]]:
    """CORPUS_VERDICTS with each ("*": every check) row stated for every check of its
    folder that no other row of that folder names."""
    named = {(f, c) for f, c, *_ in CORPUS_VERDICTS if c != "*"}
    out = []
    for folder, check, subject, expected, test in CORPUS_VERDICTS:
        if check != "*":
            out.append((folder, check, subject, expected, test))
            continue
        out += [(folder, c, subject, expected, test) for c in sorted(judged[folder])
                if (folder, c) not in named]
    return out


_FALSE = {"pass": (Status.WARN, Status.FAIL, Status.ERROR),
          "n/a": (Status.WARN, Status.FAIL, Status.ERROR),
          "no-fail": (Status.FAIL, Status.ERROR)}


def corpus_table() -> tuple[list[str], list[str], bool]:
    """Summary lines, table lines, and whether every stated verdict holds."""
    judged = {str(f.relative_to(CORPUS)): _judge_all(f) for f in corpus_folders()}
    rows = _expanded(judged)
    alarms = {check: alarm(check) for check in sorted({c for j in judged.values() for c in j})}
    lines = ["| check | corpus folder | subject | stated | results | counts as | stated by |",
             "|---|---|---|---|---|---|---|"]
    tally: dict[str, Counter] = {check: Counter() for check in alarms}
    ok = True
    for folder, check, subject, expected, test in rows:
        results = [r for r in judged[folder][check]
                   if subject is None or r.subject == subject]
        statuses = [r.status for r in results]
        counts = ", ".join(f"{k} {v}" for k, v in sorted(Counter(
            st.value for st in statuses).items())) or "no result"
        if expected == "fail":
            tally[check]["faults"] += 1
            caught = any(st is not Status.ERROR and st.rank >= alarms[check].rank
                         for st in statuses)
            tally[check]["caught"] += caught
            verdict = "caught" if caught else "MISSED"
        else:
            tally[check]["good"] += 1
            false = not results or any(st in _FALSE[expected] for st in statuses)
            tally[check]["false"] += false
            verdict = "FALSE ALARM" if false else "no false alarm"
        ok &= verdict in ("caught", "no false alarm")
        lines.append(f"| {check} | {folder} | {subject or 'all'} | {expected} | {counts} | "
                     f"{verdict} | `{test}` |")
    stated = {(f, c) for f, c, *_ in rows}
    unstated: list[str] = []
    for folder, checks in judged.items():
        for check, results in checks.items():
            if (folder, check) not in stated and any(
                    r.status is not Status.ERROR and r.status.rank >= alarms[check].rank
                    for r in results):
                tally[check]["unstated"] += 1
                unstated.append(f"{check} on {folder}: " + ", ".join(
                    f"{k} {v}" for k, v in sorted(Counter(
                        r.status.value for r in results).items())))
    summary = [f"Corpus: {len(judged)} folders, every registered check on each; "
               f"{len(rows)} stated verdicts.", ""]
    for check, t in tally.items():
        if not (t["faults"] or t["good"] or t["unstated"]):
            continue
        summary.append(f"- `{check}` (alarm: {alarms[check].value}): {t['caught']}/"
                       f"{t['faults']} stated faults caught, {t['false']}/{t['good']} false "
                       f"alarms; alarms on {t['unstated']} folder(s) no test speaks about")
    if unstated:
        summary += ["", "Alarms where no corpus test states a verdict (neither caught faults "
                    "nor false alarms; listed so that they can be read):", ""]
        summary += [f"- {u}" for u in sorted(unstated)]
    return summary, lines, ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hst-align-qa-real-") as tmp:
        judged = [(check, kind, what, *judge(products, check))
                  for check, kind, what, products in cases(Path(tmp))]
    rows = [r[:4] for r in judged]
    lines = ["| check | case | kind | results | counts as |", "|---|---|---|---|---|"]
    alarms = {check: alarm(check) for check in CHECKS}
    rows = [(check, kind, what, status.rank >= alarms[check].rank)
            for check, kind, what, status in rows]
    for check, kind, what, status, counts in judged:
        raised = status.rank >= alarms[check].rank
        if kind == "clean":
            verdict = "false alarm" if raised else "no false alarm"
        else:
            verdict = "caught" if raised else "MISSED"
        lines.append(f"| {check} | {what} | {kind} | {counts} | {verdict} |")
    summary = []
    for check in CHECKS:
        mine = [r for r in rows if r[0] == check]
        faults = [r for r in mine if r[1] == "fault"]
        cleans = [r for r in mine if r[1] == "clean"]
        summary.append(f"- `{check}` (alarm: {alarms[check].value}): "
                       f"{sum(r[3] for r in faults)}/{len(faults)} faults caught, "
                       f"{sum(r[3] for r in cleans)}/{len(cleans)} false alarms")
    c_summary, c_lines, corpus_ok = corpus_table()
    text = ("\n".join(summary) + "\n\n" + "\n".join(lines) + "\n\n## The corpus\n\n"
            + "\n".join(c_summary) + "\n\n" + "\n".join(c_lines) + "\n")
    print(text)
    if args.out is not None:
        args.out.write_text(
            "# Detection and false alarms on real recorded outputs\n\nGenerated by "
            f"`python benchmarks/real_cases.py --out {args.out}` on "
            f"{time.strftime('%Y-%m-%d')}.\n\n" + (__doc__.split("\n\n", 2)[2]) + "\n" + text)
    missed = any(r[1] == "fault" and not r[3] for r in rows)
    false_alarms = any(r[1] == "clean" and r[3] for r in rows)
    return 1 if missed or false_alarms or not corpus_ok else 0


if __name__ == "__main__":
    sys.exit(main())
