"""The pipeline's one-line failure reasons (without running drizzlepac)."""
from __future__ import annotations

import pytest

from hst_align_qa.fixtures.pipeline import child
from hst_align_qa.fixtures.pipeline.request import PipelineError

TWEAKREG_LOG = """\
[INFO    ] TweakReg Version 3.11.0 started at: 17:48:11.0 (24/11/2026)
[INFO    ] ===  Source finding for image 'jsyn01a1q_flc.fits':
[INFO    ] No objects found for this image. Please check value of "threshold".
[ERROR   ] An unhandled exception ocurred:
Traceback (most recent call last):
ValueError: not enough values to unpack (expected 7, got 4)
"""


def _raise_in(filename: str):
    code = compile("raise ValueError('bad\\nvalue')", filename, "exec")
    try:
        exec(code, {})
    except ValueError as exc:
        return exc
    raise AssertionError("did not raise")


def test_failure_names_step_exception_place_and_logged_cause(tmp_path):
    log = tmp_path / "tweakreg.log"
    log.write_text(TWEAKREG_LOG)
    exc = _raise_in("/site-packages/drizzlepac/catalogs.py")
    text = child._failure("tweakreg", exc, log)
    assert text == ("tweakreg failed: ValueError: bad value (in catalogs.py:1); "
                    'tweakreg.log line 3: No objects found for this image. Please check '
                    'value of "threshold".')


def test_failure_without_log_or_drizzlepac_frame(tmp_path):
    text = child._failure("astrodrizzle", _raise_in("mine.py"), tmp_path / "absent.log")
    assert text == "astrodrizzle failed: ValueError: bad value"


def test_missing_product_of_a_step_is_named(tmp_path):
    (tmp_path / "tweakreg.log").write_text("x")
    with pytest.raises(PipelineError) as info:
        child._require(tmp_path, "tweakreg", ("tweakreg.log", "shifts.txt"))
    assert str(info.value) == (f"tweakreg finished but wrote no shifts.txt "
                               f"(expected in {tmp_path.name})")
    (tmp_path / "final_drz.fits").write_bytes(b"")
    (tmp_path / "astrodrizzle.log").write_text("x")
    child._require(tmp_path, "astrodrizzle", ("astrodrizzle.log", "final_dr[cz].fits"))
