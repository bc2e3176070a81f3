"""AstroDrizzle parameters from an MDRIZTAB ($jref, a CRDS cache) or the offline table."""
from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from hst_align_qa.fixtures.sources.mdriztab import OFFLINE_TABLE, astrodrizzle_parameters

# (filter, numimages, driz_sep_bits, combine_type, driz_cr_snr, driz_cr_scale, final_bits)
ROWS = [("ANY", 1, 0, "median", "3.0 2.5", "1.2 1.0", 0),
        ("ANY", 4, 16, "imedian", "3.5 3.0", "1.5 1.2", 16),
        ("F606W", 1, 64, "minmed", "4.0 3.5", "1.3 1.1", 64),
        ("F606W", 3, 336, "minmed", "3.5 3.0", "1.5 1.2", 336),
        ("F606W", 6, 512, "median", "3.0 2.0", "2.0 1.5", 512)]


def _mdriztab(path):
    cols = list(zip(*ROWS))
    table = fits.BinTableHDU.from_columns([
        fits.Column("filter", "A24", array=np.array(cols[0])),
        fits.Column("numimages", "J", array=np.array(cols[1])),
        fits.Column("driz_sep_bits", "J", array=np.array(cols[2])),
        fits.Column("combine_type", "A24", array=np.array(cols[3])),
        fits.Column("driz_cr_snr", "A24", array=np.array(cols[4])),
        fits.Column("driz_cr_scale", "A24", array=np.array(cols[5])),
        fits.Column("final_bits", "J", array=np.array(cols[6])),
        fits.Column("final_pixfrac", "E", array=np.ones(len(ROWS))),
    ], name="MDRIZTAB")
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(path)


def _exposures(tmp_path, n, filter1="F606W", mdriztab="jref$test_mdz.fits"):
    out = []
    for i in range(n):
        h = fits.Header({"INSTRUME": "ACS", "DETECTOR": "WFC", "FILTER1": filter1,
                         "FILTER2": "CLEAR2L", "MDRIZTAB": mdriztab})
        p = tmp_path / f"exp{i}_flc.fits"
        fits.PrimaryHDU(header=h).writeto(p, overwrite=True)
        out.append(p)
    return out


def test_row_chosen_like_drizzlepac_from_jref(tmp_path):
    _mdriztab(tmp_path / "jref" / "test_mdz.fits")
    env = {"jref": str(tmp_path / "jref")}
    three, origin = astrodrizzle_parameters(_exposures(tmp_path, 3), env)
    assert three == {"driz_sep_bits": "336", "combine_type": "minmed",
                     "driz_cr_snr": "3.5 3.0", "driz_cr_scale": "1.5 1.2",
                     "final_bits": "336"}
    assert origin.startswith("MDRIZTAB jref$test_mdz.fits row 4 (filter F606W, numimages 3)")
    two, _ = astrodrizzle_parameters(_exposures(tmp_path, 2), env)
    assert two["driz_sep_bits"] == "64"  # last F606W row with numimages <= 2
    other, origin = astrodrizzle_parameters(_exposures(tmp_path, 5, filter1="F814W"), env)
    assert other["combine_type"] == "imedian" and "filter ANY, numimages 4" in origin


@pytest.mark.parametrize("layout", ["references/hst/acs", "references/hst"])
def test_found_in_a_local_crds_cache(tmp_path, layout):
    _mdriztab(tmp_path / "crds" / layout / "test_mdz.fits")
    params, origin = astrodrizzle_parameters(_exposures(tmp_path, 3),
                                             {"CRDS_PATH": str(tmp_path / "crds")})
    assert params["final_bits"] == "336" and str(tmp_path / "crds") in origin


def test_offline_table_when_no_mdriztab_is_found(tmp_path):
    params, origin = astrodrizzle_parameters(_exposures(tmp_path, 3), {})
    assert params == {"driz_sep_bits": "336", "combine_type": "minmed",
                      "driz_cr_snr": "3.5 3.0", "driz_cr_scale": "1.5 1.2",
                      "final_bits": "336"}
    assert origin.startswith(f"bundled offline table {OFFLINE_TABLE.name} (ACS/WFC; "
                             "MDRIZTAB jref$test_mdz.fits not found")


def test_header_value_cannot_point_outside_the_reference_directory(tmp_path):
    _mdriztab(tmp_path / "outside_mdz.fits")
    (tmp_path / "jref").mkdir()
    files = _exposures(tmp_path, 3, mdriztab="jref$../outside_mdz.fits")
    _, origin = astrodrizzle_parameters(files, {"jref": str(tmp_path / "jref")})
    assert origin.startswith("bundled offline table")


def test_unreadable_table_names_the_file(tmp_path):
    bad = tmp_path / "jref" / "test_mdz.fits"
    bad.parent.mkdir()
    bad.write_bytes(b"not fits at all" * 10)
    with pytest.raises(ValueError, match=r"test_mdz.fits: MDRIZTAB not readable"):
        astrodrizzle_parameters(_exposures(tmp_path, 3), {"jref": str(bad.parent)})
