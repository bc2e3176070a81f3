"""The adaptive TweakReg threshold, its memory guard, and the refusal message."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hst_align_qa.fixtures.pipeline import source_count as sc
from hst_align_qa.fixtures.config.datasets import ManifestError, load_manifest
from hst_align_qa.fixtures.pipeline.handle import run_in_child
from hst_align_qa.fixtures.pipeline.request import PipelineError, PipelineRequest
from hst_align_qa.fixtures.pipeline.detection_threshold import resolve_imagefind, sample_inputs
from hst_align_qa.fixtures.sources import synthetic as S
from qa_process import REPO, run_qa

MANIFEST = REPO / "qa" / "datasets.toml"


def _star_field(rng, n: int, amp_range=(5.0, 5000.0), shape=(512, 1024), sky=100.0):
    """A Poisson sky with ``n`` Gaussian stars (FWHM 2.2 px) of log-uniform amplitude."""
    ny, nx = shape
    img = np.full(shape, sky)
    amp = np.exp(rng.uniform(*np.log(amp_range), n))
    x = rng.uniform(10, nx - 10, n)
    y = rng.uniform(10, ny - 10, n)
    s = 2.2 / 2.3548
    for a, xi, yi in zip(amp, x, y):
        y0, x0 = int(yi), int(xi)
        yy, xx = np.mgrid[y0 - 6:y0 + 7, x0 - 6:x0 + 7]
        img[y0 - 6:y0 + 7, x0 - 6:x0 + 7] += a * np.exp(
            -((xx - xi) ** 2 + (yy - yi) ** 2) / (2 * s ** 2))
    return rng.poisson(img).astype(np.float32), amp


def test_estimate_follows_the_true_amplitudes():
    """Counts at a threshold ~ stars whose peak exceeds threshold x sky sigma."""
    rng = np.random.default_rng(3)
    img, amp = _star_field(rng, 400)
    sample = sc.sample_chip(img, None, image="a.fits", chip=1, conv_width=2.5, strips=8,
                            strip_rows=64)
    assert sample.sigma == pytest.approx(math.sqrt(2 * 100.0), rel=0.1)
    for t in (20.0, 50.0, 150.0):
        truth = int((amp > t * sample.sigma).sum())
        assert sample.count(t) == pytest.approx(truth, rel=0.35, abs=15), t
    # more threshold, fewer sources; the calibration factor scales the counts
    assert sample.count(20) > sample.count(50) > sample.count(150)
    assert sample.count(50, 0.5) == pytest.approx(0.5 * sample.count(50))


def _sample(image: str, chip: int, heights, scale=1.0) -> sc.ChipSample:
    h = np.sort(np.asarray(heights, dtype=float))
    return sc.ChipSample(image=image, chip=chip, sigma=10.0, heights=h, scale=scale)


def test_auto_picks_the_lowest_threshold_under_the_middle_of_the_target():
    # heights 1..3000: N(>t) = 3000 - t, so t ~ 2000 gives the aim of 1000 per chip
    samples = [_sample(f"i{k}.fits", c, np.arange(1, 3001)) for k in range(3) for c in (1, 2)]
    choice = sc.choose_threshold(samples, target=(500, 2000), budget_gb=8.0)
    aim = math.sqrt(500 * 2000)
    assert choice.mode == "auto"
    assert all(n <= aim for chips in choice.estimated.values() for n in chips.values())
    assert all(n >= 0.9 * aim for chips in choice.estimated.values() for n in chips.values())
    assert choice.memory_gb == pytest.approx(
        sc.tweakreg_memory_gb(2 * 1000, 2 * 1000), rel=0.1)


def test_sparse_field_gets_the_floor():
    samples = [_sample("a.fits", 1, [50.0] * 30), _sample("b.fits", 1, [50.0] * 30)]
    assert sc.choose_threshold(samples, budget_gb=8.0).threshold == sc.THRESHOLD_FLOOR


def test_fixed_threshold_over_budget_is_refused_naming_files_estimate_and_budget():
    samples = [_sample(n, c, np.full(20000, 100.0), scale=1.0)
               for n in ("jaaa01q_flc.fits", "jaaa02q_flc.fits") for c in (1, 2)]
    with pytest.raises(sc.DetectionRefused) as err:
        sc.choose_threshold(samples, threshold=30.0, budget_gb=2.0)
    msg = str(err.value)
    assert "\n" not in msg
    assert "(jaaa01q_flc.fits)" in msg and "(jaaa02q_flc.fits)" in msg
    expected = sc.tweakreg_memory_gb(40000, 40000)
    assert f"{expected:.1f} GB" in msg and "budget of 2 GB" in msg
    assert "--qa-memory-budget" in msg
    # the same catalogues fit a larger budget
    assert sc.choose_threshold(samples, threshold=30.0, budget_gb=100.0).mode == "fixed"


@pytest.mark.parametrize("find, problem", [
    ({"threshold": "automatic"}, "positive number or \"auto\""),
    ({"threshold": -3.0}, "positive number or \"auto\""),
    ({"threshold": "auto", "target_sources": [2000, 500]}, "0 < low < high"),
    ({"threshold": "auto", "target_sources": [500]}, "[low, high]"),
])
def test_manifest_validates_threshold_and_target(tmp_path, find, problem):
    text = ("[datasets.x]\nsource = \"synthetic\"\nimagefind = "
            + json.dumps(find).replace('":', '" =').replace('{"', '{ "').replace(', "', ', "')
            + "\n")
    path = tmp_path / "m.toml"
    path.write_text(text.replace('{ "threshold" =', '{ threshold =')
                    .replace('"target_sources" =', 'target_sources ='))
    with pytest.raises(ManifestError, match="dataset 'x': imagefind") as err:
        load_manifest(path)
    assert problem in str(err.value)


def test_full_dataset_uses_auto_with_the_documented_target():
    find = load_manifest(MANIFEST).get("synthetic-full").imagefind
    assert find["threshold"] == "auto" and list(find["target_sources"]) == [500, 2000]


@pytest.fixture(scope="module")
def small_inputs(tmp_path_factory):
    return S.generate(S.SyntheticSpec(seed=1, size="small"), tmp_path_factory.mktemp("syn"))


def test_auto_threshold_lands_in_range_and_keeps_offsets_within_002px(small_inputs,
                                                                      tmp_path, child_homes):
    """The real pipeline with threshold "auto": TweakReg's catalogues hold a number of
    sources per chip inside the target, and the shifts match the synthetic truth."""
    ds = load_manifest(MANIFEST).get("synthetic-small")
    target = [150, 600]  # small chips are 1/16 of ACS/WFC: ~900 sources at threshold 30
    request = PipelineRequest(
        inputs=tuple(str(p) for p in small_inputs.files), tweakreg=ds.tweakreg,
        imagefind={**ds.imagefind, "threshold": "auto", "target_sources": target},
        astrodrizzle=ds.astrodrizzle)
    record = run_in_child(request, tmp_path, timeout=900)
    assert len(child_homes) == 1 and not child_homes[0].exists()  # removed after a success
    finding = record["source_finding"]
    assert finding["mode"] == "auto" and finding["threshold"] > 30.0
    # the copies and AstroDrizzle's working files are gone; the singles stay
    assert not list(tmp_path.glob("*_flc.fits")) and not list(tmp_path.glob("*_blt.fits"))
    assert list(tmp_path.glob("*_single_sci.fits"))
    counts = [n for chips in finding["actual"].values() for n in chips.values()]
    assert len(counts) == 6 and all(target[0] <= n <= target[1] for n in counts), finding
    log = (tmp_path / "tweakreg.log").read_text()
    assert f"threshold :\t{finding['threshold']}" in log
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]]
            for line in (tmp_path / "shifts.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")}
    for r in S.read_truth(small_inputs.truth_path):
        xsh, ysh = rows[r["image"]][:2]
        assert abs(xsh - r["xsh"]) < 0.02 and abs(ysh - r["ysh"]) < 0.02, (r["image"], xsh,
                                                                            ysh)


def test_pipeline_refuses_over_budget_before_tweakreg(small_inputs, tmp_path):
    request = PipelineRequest(inputs=tuple(str(p) for p in small_inputs.files),
                              imagefind={"threshold": 30.0, "conv_width": 3.5},
                              memory_budget_gb=0.01)
    with pytest.raises(PipelineError) as err:
        run_in_child(request, tmp_path, timeout=300)
    msg = str(err.value)
    assert msg.startswith("tweakreg refused: ") and "budget of 0.01 GB" in msg
    assert all(p.name in msg for p in small_inputs.files)
    assert not (tmp_path / "tweakreg.log").exists()  # TweakReg never started


def test_qa_run_reports_the_refusal_in_one_line(tmp_path):
    """`pytest qa/ --qa-memory-budget` below the estimate: the dataset is an error whose
    reason names the budget; nothing is killed."""
    code, doc, out = run_qa(tmp_path, tmp_path / "cache", "--qa-memory-budget=0.01",
                            html=False)
    assert code == 1, out[-2000:]
    err = doc["datasets"]["synthetic-small"]["error"]
    assert err.startswith("tweakreg refused: ") and "budget of 0.01 GB" in err
    assert doc["datasets"]["synthetic-small"]["source_finding"] is None
    assert "tweakreg refused" in out


def test_unreadable_input_under_auto_names_the_file(small_inputs, tmp_path):
    """A file the estimate cannot read: with threshold "auto" the run stops before
    TweakReg with the file's name; a fixed threshold runs without the guard, said so."""
    bad = tmp_path / "jbad01a1q_flc.fits"
    bad.write_bytes(b"SIMPLE  =                    T" + b" " * 50)  # truncated header
    request = PipelineRequest(inputs=(str(small_inputs.files[0]), str(bad)),
                              imagefind={"threshold": "auto"})
    result = sample_inputs(request.imagefind, request.inputs)
    assert result[1] is not None and result[1].startswith("jbad01a1q_flc.fits: ")
    with pytest.raises(PipelineError, match=r'threshold "auto": cannot estimate the source '
                                            r'counts \(jbad01a1q_flc.fits: '):
        resolve_imagefind(request, request.inputs)
    fixed = PipelineRequest(inputs=request.inputs, imagefind={"threshold": 30.0})
    find, finding = resolve_imagefind(fixed, fixed.inputs)
    assert find["threshold"] == 30.0 and finding["mode"] == "fixed"
    assert finding["not_estimated"].startswith("jbad01a1q_flc.fits: ")
