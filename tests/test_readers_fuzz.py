"""Property: any bytes given to a text reader either parse or raise ProductReadError."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hst_align_qa.checks import readers
from hst_align_qa.checks.readers import ProductReadError

TEXT_READERS = {
    "shiftfile": (readers.read_shiftfile, "align_sparse_fields/shift814_flc_test1.txt"),
    "fit_matches": (readers.read_fit_matches,
                    "align_sparse_fields/j8xi0xs0q_flc_catalog_fit.match"),
    "tweakreg_log": (readers.read_tweakreg_log, "align_mosaics/tweakreg.log"),
    "drizzle_log": (readers.read_drizzle_log, "align_to_catalogs/astrodrizzle.log"),
    "sky_catalog": (readers.read_sky_catalog,
                    "align_mosaics/cumulative_sky_refcat_ick902neq_flt.coo"),
}
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
# bytes that make line-oriented parsers trip: separators, signs, NaN spellings, non-UTF-8
ALPHABET = st.sampled_from([b"\n", b"\r\n", b" ", b"\t", b"#", b":", b"-", b".", b"e",
                            b"nan", b"1", b"0", b"[INFO    ] ", b"[ERROR   ] ", b"\xff",
                            b"\x00", b"\xe2\x80\xa8", b"a.fits", b"(< 15)",
                            # console captures: Python logging's copies, tracebacks,
                            # drizzlepac's failure box, ANSI colours
                            b"INFO:drizzlepac.tweakreg:", b"Traceback (most recent call "
                            b"last):", b"KeyError   Traceback (most recent call last)",
                            b"KeyError: 'x'", b"# AstroDrizzle Version 3 encountered a "
                            b"problem! #", b"Processing terminated at ", b"\x1b[0;31m"])


def _read(reader, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "product.txt"
        path.write_bytes(data)
        try:
            reader(path)
        except ProductReadError as exc:
            assert "\n" not in str(exc) and str(exc).startswith("product.txt ")


@pytest.mark.parametrize("kind", sorted(TEXT_READERS))
@FUZZ
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes(kind, data):
    _read(TEXT_READERS[kind][0], data)


@pytest.mark.parametrize("kind", sorted(TEXT_READERS))
@FUZZ
@given(data=st.lists(ALPHABET, max_size=200).map(b"".join))
def test_line_noise(kind, data):
    _read(TEXT_READERS[kind][0], data)


@pytest.mark.parametrize("kind", sorted(TEXT_READERS))
@FUZZ
@given(st.data())
def test_mutated_real_files(real_data, kind, data):
    reader, name = TEXT_READERS[kind]
    original = (real_data / "tweakreg_runs" / name).read_bytes()[:20000]
    cut = data.draw(st.integers(0, len(original)))
    end = data.draw(st.integers(cut, min(len(original), cut + 200)))
    insert = data.draw(st.binary(max_size=40) | ALPHABET)
    _read(reader, original[:cut] + insert + original[end:])


DIRECTORY_NAMES = ("shift_x.txt", "notes.txt", "a_flc_catalog_fit.match", "tweakreg.log",
                   "astrodrizzle.log", "a_flc_sky_catalog.coo")


@FUZZ
@given(name=st.sampled_from(DIRECTORY_NAMES),
       data=st.binary(max_size=2000) | st.lists(ALPHABET, max_size=200).map(b"".join))
def test_products_directory_of_arbitrary_bytes(name, data):
    """Discovery then loading a directory: parsed, or one ProductReadError naming the file."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / name).write_bytes(data)
        try:
            readers.load_products(readers.find_products(tmp))
        except ProductReadError as exc:
            assert "\n" not in str(exc) and str(exc).startswith(f"{name} ")
