"""The same drizzlepac calls, again and again: how much this machine alone varies them.

    python benchmarks/same_call.py --size full --repeat 3

Runs, in turn and each in a fresh process, ``--repeat`` times each:

- ``bare``: TweakReg then AstroDrizzle as ``benchmarks/run.py``'s bare run makes them;
- ``child``: the pipeline child's own function
  (:func:`hst_align_qa.fixtures.pipeline.child.run_pipeline`) on the same inputs, without pytest;

and prints each run's TweakReg and AstroDrizzle wall seconds, then their spread per kind.
The two kinds make the same calls on the same inputs with the same threshold: the
spread within a kind is the machine's, and a difference between the kinds beyond it
would be the QA child's.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from run import BARE, DATASETS, REPO, bare_call, timed

from hst_align_qa.fixtures.config.datasets import load_manifest
from hst_align_qa.fixtures.pipeline.request import PipelineRequest
from hst_align_qa.fixtures.pipeline.runner import prepare_inputs
from hst_align_qa.fixtures.pipeline.detection_threshold import resolve_imagefind

CHILD = """
import json, sys
from pathlib import Path
import drizzlepac.astrodrizzle, drizzlepac.tweakreg
from hst_align_qa.fixtures.pipeline.child import run_pipeline
from hst_align_qa.fixtures.pipeline.request import PipelineRequest
req = PipelineRequest.from_json(json.loads(Path(sys.argv[1]).read_text()))
steps = run_pipeline(req, Path("."))["timings"]
print(json.dumps({k: steps[k] for k in ("tweakreg", "astrodrizzle")}))
"""


def one_run(kind: str, work: Path, request: PipelineRequest, find: dict, env: dict) -> dict:
    """One fresh process of ``kind`` in a new directory: its wall and its two steps'."""
    rundir = work / "run"
    shutil.rmtree(rundir, ignore_errors=True)
    rundir.mkdir()
    req = rundir.parent / "req.json"
    if kind == "bare":
        req.write_text(json.dumps(bare_call(request.inputs, request.tweakreg, find,
                                            request.astrodrizzle)))
        cmd = [sys.executable, "-c", BARE, str(req)]
    else:
        req.write_text(json.dumps(request.to_json()))
        cmd = [sys.executable, "-c", CHILD, str(req)]
    run = timed(cmd, rundir, env)
    if run["returncode"] != 0:
        raise SystemExit(f"{kind} run failed:\n" + run["stderr"][-3000:])
    steps = json.loads(run["stdout"].strip().splitlines()[-1])
    shutil.rmtree(rundir, ignore_errors=True)
    return {"kind": kind, "wall": run["wall"],
            **{name: steps[name]["wall"] for name in ("tweakreg", "astrodrizzle")}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(DATASETS), default="small")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind (default 3)")
    parser.add_argument("--json", type=Path, default=None, help="write every run here")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    work = Path(tempfile.mkdtemp(prefix="hst-align-qa-same-call-"))
    try:
        env = {**os.environ, "HOME": str(work / "home"), "MPLBACKEND": "Agg"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as benchmarks/run.py
        dataset = load_manifest(REPO / "qa" / "datasets.toml").get(DATASETS[args.size])
        inputs = prepare_inputs(dataset, work / "inputs-cache")
        request = PipelineRequest(inputs=tuple(str(p) for p in inputs.files),
                                  tweakreg=dataset.tweakreg, imagefind=dataset.imagefind,
                                  astrodrizzle=dataset.astrodrizzle,
                                  post_align_shift=inputs.post_align_shift)
        find, _ = resolve_imagefind(request, inputs.files)
        runs = []
        for i in range(args.repeat):  # alternate which kind runs first
            for kind in (("bare", "child") if i % 2 == 0 else ("child", "bare")):
                runs.append(one_run(kind, work, request, find, env))
                r = runs[-1]
                print(f"{kind:6s} wall {r['wall']:6.1f} s  TweakReg {r['tweakreg']:5.1f}  "
                      f"AstroDrizzle {r['astrodrizzle']:6.1f}", flush=True)
        for kind in ("bare", "child"):
            ad = [r["astrodrizzle"] for r in runs if r["kind"] == kind]
            tr = [r["tweakreg"] for r in runs if r["kind"] == kind]
            print(f"{kind:6s} AstroDrizzle {min(ad):.1f}-{max(ad):.1f} s (median "
                  f"{statistics.median(ad):.1f}), TweakReg {min(tr):.1f}-{max(tr):.1f} s")
        if args.json is not None:
            args.json.write_text(json.dumps({"dataset": dataset.name, "threshold":
                                             find.get("threshold"), "runs": runs}, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
