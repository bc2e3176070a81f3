"""End to end on WFC3: `pytest qa/ --dataset synthetic-uvis-small --dataset
synthetic-ir-small` through a real pytest process, TweakReg and AstroDrizzle."""
from __future__ import annotations

import qa_process


def test_uvis_and_ir_small_pass_with_their_detectors_levels(tmp_path):
    code, doc, output = qa_process.run_qa(
        tmp_path, tmp_path / "cache", "--dataset", "synthetic-uvis-small",
        "--dataset", "synthetic-ir-small")
    assert doc is not None, output[-3000:]
    assert code == 0, output[-3000:]
    for name, det, scale in (("synthetic-uvis-small", "WFC3/UVIS", 0.0396),
                             ("synthetic-ir-small", "WFC3/IR", 0.1283)):
        ds = doc["datasets"][name]
        results = [r for r in doc["results"] if r["dataset"] == name]
        # nothing fails; the only warnings are the distortion-only a-priori WCSs
        assert not [r for r in results if r["status"] in ("fail", "error")]
        assert {r["check"] for r in results if r["status"] == "warn"} <= {"apriori_wcs"}
        assert ds["notes"]["detector"].startswith(f"{det}, {scale:g} arcsec/px")
        fits = [r for r in results if r["check"] == "fit_rms" and r["observed"]]
        assert len(fits) == 2
        for r in fits:
            stated = r["threshold"]["stated"]
            assert stated["detector"] == det and stated["unit"] == "mas"
            assert r["threshold"]["fail"] == stated["fail"] / 1000 / scale
            assert r["observed"] < 0.05  # px; the generator's fits are 0.02-0.045 px
            assert "mas" in r["message"]
    html = (tmp_path / "qa.html").read_text()
    # UVIS warns at 4 mas (0.1 px); IR fails at 64 mas (0.5 px, the notebooks' "poor")
    assert "(4 mas)" in html and "(64 mas)" in html
