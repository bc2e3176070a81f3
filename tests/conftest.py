"""Shared test fixtures."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Real STScI products and headers, copied into ``tests/data/real`` (its README names
    each file's origin)."""
    return DATA / "real"


@pytest.fixture(scope="session")
def data311() -> Path:
    """TweakReg/AstroDrizzle products of drizzlepac 3.11 (``tests/data/tweakreg_3.11``)."""
    return DATA / "tweakreg_3.11"


@pytest.fixture(scope="session")
def psf():
    """drizzlepac's ACS/WFC F606W PSF, its central 25x25 pixels, normalised to 1."""
    import importlib.util

    import numpy as np
    from astropy.io import fits

    # find_spec locates the package without importing it (importing drizzlepac emits
    # third-party deprecation warnings, which this suite turns into errors)
    root = Path(importlib.util.find_spec("drizzlepac").submodule_search_locations[0])
    path = root / "pars/psfs/acs/wfc/acs_wfc_f606w.fits"
    data = np.asarray(fits.getdata(path), dtype=float)
    c = data.shape[0] // 2
    cut = data[c - 12:c + 13, c - 12:c + 13]
    return cut / cut.sum()


@pytest.fixture
def child_homes(monkeypatch) -> list[Path]:
    """The temporary HOME directories the pipeline's children get during the test, as
    they are made (so that a test can see them removed)."""
    made: list[Path] = []
    real = tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        made.append(Path(real(*args, **kwargs)))
        return str(made[-1])
    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    return made
