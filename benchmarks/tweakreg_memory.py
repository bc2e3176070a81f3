"""Measure TweakReg's peak RSS against its catalogue sizes (the memory model's data).

    python benchmarks/tweakreg_memory.py --size full --thresholds 800 400 200 100

For each threshold, TweakReg alone runs in a fresh child process on copies of the
synthetic inputs (the dataset's other parameters); the child's peak RSS and the
sources found per image are recorded. Above the floor set by reading
the images, the least-squares line ``peak_gb = base + bytes_per_pair * n_image * n_ref /
1e9`` (``n_image``: the largest non-reference image, ``n_ref``: the reference image)
gives the constants of :mod:`fixtures.pipeline.source_count`. A threshold whose estimate exceeds ``--budget`` GB is not
run (it is reported with the estimate instead).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from hst_align_qa.fixtures.config.datasets import load_manifest
from hst_align_qa.fixtures.pipeline.request import FRAMEWORK_IMAGEFIND_KEYS
from hst_align_qa.fixtures.pipeline.runner import prepare_inputs

REPO = Path(__file__).resolve().parents[1]
DATASETS = {"small": "synthetic-small", "full": "synthetic-full"}

CHILD = """
import json, resource, sys, warnings
from pathlib import Path
from drizzlepac import tweakreg
from hst_align_qa.fixtures.pipeline.child import copy_inputs
from hst_align_qa.fixtures.pipeline.request import TWEAKREG_DEFAULTS, TWEAKREG_FIXED
req = json.loads(Path(sys.argv[1]).read_text())
names = copy_inputs(req["inputs"], Path("."))
warnings.simplefilter("ignore")
tweakreg.TweakReg(",".join(names), imagefindcfg=req["imagefind"],
                  refimagefindcfg=req["imagefind"],
                  **{**TWEAKREG_DEFAULTS, **req["tweakreg"], **TWEAKREG_FIXED})
counts = {}
for n in names:
    stem = Path(n).stem
    counts[n] = sum(sum(1 for line in open(c) if line.strip() and not line.startswith("#"))
                    for c in Path(".").glob(stem + "_sci*_xy_catalog.coo"))
print(json.dumps({"peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2,
                  "sources": counts}))
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(DATASETS), default="full")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[800, 400, 200, 100])
    parser.add_argument("--budget", type=float, default=8.0)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="hst-align-qa-twmem-"))
    work.mkdir(parents=True, exist_ok=True)
    dataset = load_manifest(REPO / "qa" / "datasets.toml").get(DATASETS[args.size])
    inputs = prepare_inputs(dataset, work / "cache")
    env = {**os.environ, "HOME": str(work / "home"), "MPLBACKEND": "Agg"}
    rows = []
    for t in args.thresholds:
        run = work / f"t{t:g}"
        shutil.rmtree(run, ignore_errors=True)
        run.mkdir()
        find = {k: v for k, v in dataset.imagefind.items() if k not in FRAMEWORK_IMAGEFIND_KEYS}
        find["threshold"] = t
        (run / "req.json").write_text(json.dumps({
            "inputs": [str(p) for p in inputs.files], "tweakreg": dict(dataset.tweakreg),
            "imagefind": find}))
        proc = subprocess.run([sys.executable, "-c", CHILD, str(run / "req.json")], cwd=run,
                              env={**env, "PYTHONPATH": str(REPO)}, capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            print(f"threshold {t:g}: failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        n = list(out["sources"].values())
        pairs = max(n[1:]) * n[0]
        rows.append((t, n, pairs, out["peak_gb"]))
        print(f"threshold {t:7g}: sources per image {n}, pairs {pairs / 1e6:8.1f} M, "
              f"TweakReg peak RSS {out['peak_gb']:.2f} GB", flush=True)
        shutil.rmtree(run, ignore_errors=True)
    # Small catalogues all peak at the same floor (reading the images); the line is
    # fitted to the runs above it, where the offset histogram decides the peak.
    floor = min((r[3] for r in rows), default=0.0)
    above = [r for r in rows if r[3] > 1.1 * floor]
    print(f"floor (image reading): {floor:.2f} GB")
    if len(above) >= 2:
        a = np.array([[1.0, r[2]] for r in above])
        b = np.array([r[3] for r in above])
        (base, per_pair), *_ = np.linalg.lstsq(a, b, rcond=None)
        print(f"fit above the floor: peak_gb = {base:.3f} + {per_pair * 1e9:.2f} bytes "
              "* pairs / 1e9")
    return 0


if __name__ == "__main__":
    sys.exit(main())
