"""`pytest qa/` on a MAST dataset, end to end, against the loopback MAST server.

The served "FLC" files are the synthetic default dataset under the notebook's rootnames
(with FITS checksums), so the real TweakReg and AstroDrizzle run on what was downloaded.
"""
from __future__ import annotations

import json
import os
import shutil

import pytest
from astropy.io import fits

from mast_server import MastServer
from qa_process import run_qa

NAMES = ("j9irw3fwq_flc.fits", "j9irw4b1q_flc.fits", "j9irw5kaq_flc.fits")
MANIFEST = """
default = ["ngc104-loopback"]
[datasets.ngc104-loopback]
source = "mast"
mast = { obs_ids = ["j9irw3fwq", "j9irw4040", "j9irw5kaq"], exclude = ["j9irw4b3q"], proposal_id = "10737", filters = ["F606W"], product_type = "FLC", project = "CALACS" }
imagefind = { threshold = 30.0, conv_width = 3.5, peakmax = 70000.0, dqbits = "~256" }
tweakreg = { searchrad = 5, searchunits = "pixels", fitgeometry = "rscale", minobj = 15, ylimit = 0.2 }
mdriztab = true
astrodrizzle = { skymethod = "localmin", final_wht_type = "EXP", num_cores = 1 }
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> dict[str, bytes]:
    from hst_align_qa.fixtures.sources.synthetic import SyntheticSpec, generate

    out = tmp_path_factory.mktemp("served")
    made = generate(SyntheticSpec(), out / "synthetic")
    files = {}
    for name, src in zip(NAMES, sorted(made.files, key=lambda p: p.name)):
        with fits.open(src) as hdul:
            hdul.writeto(out / name, checksum=True)
        files[name] = (out / name).read_bytes()
    files["j9irw4b3q_flc.fits"] = files["j9irw4b1q_flc.fits"]  # excluded: never fetched
    return files


def test_offline_skip_then_fetch_then_cached_run_without_requests(tmp_path, served):
    manifest = tmp_path / "datasets.toml"
    manifest.write_text(MANIFEST)
    downloads = tmp_path / "downloads"
    common = (f"--qa-manifest={manifest}", f"--cache-dir={downloads}")
    cache = tmp_path / "qa-cache"
    for var in ("jref", "CRDS_PATH"):  # the offline table must answer here
        assert var not in os.environ, f"unset {var} to run this test"
    with MastServer(served) as server:
        mast = f"--mast-server={server.url}"
        # 1. offline, nothing cached: skipped, naming the files and the fetch command
        code, doc, out = run_qa(tmp_path / "r1", cache, *common, mast)
        assert code == 0, out[-3000:]
        ds = doc["datasets"]["ngc104-loopback"]
        assert ds["verdict"] == "skip"
        assert "j9irw3fwq_flc.fits" in ds["skipped"]
        assert "the members of association j9irw4040" in ds["skipped"]
        assert "pytest qa/ --remote-data --dataset ngc104-loopback" in ds["skipped"]
        assert "pytest qa/ --remote-data --dataset ngc104-loopback" in out
        assert server.log == []
        # 2. --remote-data: fetched, aligned, drizzled, judged
        code, doc2, out = run_qa(tmp_path / "r2", cache, *common, mast, "--remote-data")
        ds = doc2["datasets"]["ngc104-loopback"]
        assert ds["error"] is None and ds["skipped"] is None, out[-3000:]
        assert server.downloads() == list(NAMES)
        assert "bundled offline table" in ds["notes"]["astrodrizzle parameters"]
        assert "combine_type='minmed'" in ds["notes"]["astrodrizzle parameters"]
        assert "3 FLC file(s) downloaded" in ds["notes"]["inputs"]
        fit = {r["subject"]: r for r in doc2["results"] if r["check"] == "fit_rms"}
        assert fit and all(r["status"] in ("pass", "warn") for r in fit.values()), fit
        n_requests = len(server.log)
        # 3. everything cached, network not allowed: no request at all, same verdicts
        shutil.rmtree(tmp_path / "r2" / "home", ignore_errors=True)
        code, doc3, out = run_qa(tmp_path / "r3", cache, *common, mast)
        assert len(server.log) == n_requests
    ds = doc3["datasets"]["ngc104-loopback"]
    assert ds["reused"] is True and "cached" in ds["notes"]["inputs"]

    def verdicts(d):
        return sorted((r["check"], r["subject"], r["status"]) for r in d["results"])
    assert verdicts(doc3) == verdicts(doc2)
    for name in NAMES:  # the cache holds exactly what the archive served
        assert (downloads / name).read_bytes() == served[name]
    assert json.loads(json.dumps(doc3))  # plain JSON
