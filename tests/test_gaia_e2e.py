"""`pytest qa/` with absolute_astrometry against a loopback MAST catalog service.

The service (tests/mast_server.py) answers astroquery's real ``Catalogs`` client with the
synthetic sky's Gaia DR3 rows (the generator's ``gaia.ecsv`` of the default field and of
the proper-motion field) in MAST's JSON. One pipeline run per dataset, shared by the
steps: offline without a catalog (skip, the gate unchanged), with ``--remote-data``
(fetched, cached, judged), offline again (cached, no request), propagation off (the
proper-motion variant fails), and products mode on a run's products directory.
"""
from __future__ import annotations

import pytest
from astropy.table import vstack

from hst_align_qa.fixtures.sources.gaia import OFFLINE, SERVICE
from hst_align_qa.fixtures.sources.synthetic import SyntheticSpec, gaia_table

from mast_server import MastServer
from qa_process import run_qa

DATASETS = ("synthetic-small", "synthetic-gaia40", "synthetic-pm")


@pytest.fixture(scope="module")
def sky():
    return vstack([gaia_table(SyntheticSpec()), gaia_table(SyntheticSpec(fault="pm"))],
                  metadata_conflicts="silent")


def _gaia_results(doc: dict, dataset: str) -> list[dict]:
    return [r for r in doc["results"]
            if r["check"] == "absolute_astrometry" and r["dataset"] == dataset]


def test_absolute_astrometry_against_loopback_gaia(tmp_path, sky):
    cache = tmp_path / "qa-cache"
    with MastServer({}, gaia=sky) as server:
        mast = f"--mast-server={server.url}"
        # 1. offline, no catalog cached: one-line skip; the gate's verdict is unchanged
        code, doc, out = run_qa(tmp_path / "r1", cache, "--dataset", "synthetic-small", mast)
        assert code == 0, out[-3000:]
        (skip,) = _gaia_results(doc, "synthetic-small")
        assert skip["status"] == "skip" and skip["message"] == OFFLINE
        assert doc["datasets"]["synthetic-small"]["verdict"] == "pass"
        assert server.log == []
        # 2. --remote-data: fetched through astroquery, cached, judged
        code, doc, out = run_qa(tmp_path / "r2", cache, *(f"--dataset={d}" for d in DATASETS),
                                mast, "--remote-data")
        assert code == 1, out[-3000:]  # the 40 mas variant fails
        cones = [w for m, w in server.log if w == SERVICE]
        assert 2 <= len(cones) <= 3  # one per field (the 40 mas field may round apart)
        clean = _gaia_results(doc, "synthetic-small")
        assert len(clean) == 3 and all(r["status"] == "pass" for r in clean), clean
        assert all(r["observed"] < 5.0 and r["details"]["n_used"] >= 100 for r in clean)
        moved = _gaia_results(doc, "synthetic-gaia40")
        assert len(moved) == 3 and all(r["status"] == "fail" for r in moved)
        for r in moved:
            assert r["observed"] == pytest.approx(40.0, abs=5.0)
            assert f"|offset| {r['observed']:.1f} mas" in r["message"]
        pm = _gaia_results(doc, "synthetic-pm")
        assert len(pm) == 3 and all(r["status"] == "pass" for r in pm), pm
        assert doc["datasets"]["synthetic-pm"]["verdict"] == "pass"
        products_dir = doc["datasets"]["synthetic-small"]["products"]
        requests = len(server.log)
        # 3. offline, catalog cached; propagation off: the proper-motion variant fails
        no_pm = tmp_path / "no-propagation.toml"
        no_pm.write_text("[absolute_astrometry.params]\npropagate_motion = false\n")
        code, doc, out = run_qa(tmp_path / "r3", cache, "--dataset", "synthetic-pm", mast,
                                f"--thresholds={no_pm}")
        assert code == 1, out[-3000:]
        pm = _gaia_results(doc, "synthetic-pm")
        assert len(pm) == 3 and all(r["status"] == "fail" for r in pm)
        assert all(r["observed"] > 100.0 and "NOT propagated" in r["message"] for r in pm)
        # 4. products mode: the products of run 2, judged without their pipeline inputs
        code, doc, out = run_qa(tmp_path / "r4", cache, f"--products-dir={products_dir}",
                                mast)
        (name,) = doc["datasets"]
        judged = _gaia_results(doc, name)
        assert len(judged) == 3, out[-3000:]
        for r in judged:  # measured; the frame is not told without the inputs: warns
            assert r["observed"] < 5.0 and r["details"]["n_used"] >= 100
            assert r["status"] == "warn" and "NOT a Gaia frame" in r["message"]
        assert len(server.log) == requests  # steps 3 and 4 made no request
