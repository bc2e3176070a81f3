"""Benchmark: what `pytest qa/` costs over the bare drizzlepac calls it wraps.

    python benchmarks/run.py --size small --json bench-small.json
    python benchmarks/run.py --size full --json bench-full.json

Phases, each in a fresh child process (wall and CPU seconds, peak RSS):

1. data preparation: the synthetic dataset is generated (and cached), not timed below;
2. bare: TweakReg then AstroDrizzle on copies, with the dataset's parameters, nothing else;
3. cold: `pytest qa/ --dataset NAME` with an empty product cache (the HTML report too);
4. warm: the same command again (products reused).

Ratios: ``overhead_ratio`` = cold wall / bare wall (``overhead_ratio_cpu``: the same in
CPU seconds of all processes, less sensitive to other load on the machine);
``checks_fraction`` = (checks + figures) / bare wall; ``warm_ratio`` = warm wall / cold
wall; ``peak_rss_gb`` = the largest RSS of any process of the cold run.

With ``--xdist``, also: `pytest qa/` on four small datasets, serially and then with
``-n 2`` (one worker per dataset), each from an empty cache; ``xdist_speedup`` = serial
wall / parallel wall, ``xdist_same_verdicts`` = the two JSON files hold the same status
for every dataset, check and subject; ``cpu_parallelism_before``/``_after`` = how many
cores two CPU-bound processes got just before and after (2.0 on an idle 2-core machine).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fixtures.datasets import load_manifest
from fixtures.pipeline import PipelineRequest, resolve_imagefind
from fixtures.runner import prepare_inputs

REPO = Path(__file__).resolve().parents[1]
DATASETS = {"small": "synthetic-small", "full": "synthetic-full"}
XDIST_DATASETS = ("synthetic-small", "synthetic-shift0.25", "synthetic-shift0.5",
                  "synthetic-skew")

BARE = """
import json, resource, shutil, sys, time, warnings
from pathlib import Path
from drizzlepac import astrodrizzle, tweakreg
from fixtures.pipeline import ASTRODRIZZLE_FIXED, TWEAKREG_DEFAULTS, TWEAKREG_FIXED
req = json.loads(Path(sys.argv[1]).read_text())
names = []
for src in req["inputs"]:
    shutil.copyfile(src, Path(src).name)
    names.append(Path(src).name)
warnings.simplefilter("ignore")
out = {}
t, c = time.perf_counter(), time.process_time()
tweakreg.TweakReg(",".join(names), imagefindcfg=req["imagefind"],
                  refimagefindcfg=req["imagefind"],
                  **{**TWEAKREG_DEFAULTS, **req["tweakreg"], **TWEAKREG_FIXED})
out["tweakreg"] = {"wall": time.perf_counter() - t, "cpu": time.process_time() - c}
t, c = time.perf_counter(), time.process_time()
astrodrizzle.AstroDrizzle(",".join(names), **{**req["astrodrizzle"], **ASTRODRIZZLE_FIXED})
out["astrodrizzle"] = {"wall": time.perf_counter() - t, "cpu": time.process_time() - c}
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def timed(cmd: list[str], cwd: Path, env: dict) -> dict:
    """Run ``cmd``; wall and CPU time and peak RSS of it and its descendants."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": wall, "cpu": (after.ru_utime + after.ru_stime)
            - (before.ru_utime + before.ru_stime),
            "peak_rss_gb": after.ru_maxrss / 1024 ** 2, "returncode": proc.returncode,
            "stdout": proc.stdout, "stderr": proc.stderr}


SPIN = "x = 0\nfor i in range(20_000_000): x += i"


def cpu_parallelism() -> float:
    """How many cores two CPU-bound processes get now: 2 x (one alone) / (two at once).

    2.0 on an idle 2-core machine, about 1.0 when other work holds one core.
    """
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", SPIN], check=True)
    alone = time.perf_counter() - start
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(2)]
    for p in procs:
        p.wait()
    return 2 * alone / (time.perf_counter() - start)


def xdist_benchmark(work: Path, env: dict) -> dict:
    """Four small datasets cold, serial then ``-n 2``: walls, speed-up, same verdicts."""
    out: dict = {"datasets": list(XDIST_DATASETS), "loadavg_before": os.getloadavg()}
    docs = {}
    out["cpu_parallelism_before"] = cpu_parallelism()
    for phase, extra in (("serial", []), ("parallel", ["-n", "2"])):
        d = work / f"xdist-{phase}"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        run = timed([sys.executable, "-m", "pytest", "qa/", "-q", "-p", "no:cacheprovider",
                     *[a for n in XDIST_DATASETS for a in ("--dataset", n)],
                     f"--qa-cache-dir={d / 'cache'}", f"--qa-json={d / 'qa.json'}", *extra],
                    REPO, env)
        docs[phase] = json.loads((d / "qa.json").read_text())
        out[phase] = {"wall": run["wall"], "cpu": run["cpu"],
                      "returncode": run["returncode"]}
    verdicts = {phase: {(r["dataset"], r["check"], r["subject"]): r["status"]
                        for r in doc["results"]} for phase, doc in docs.items()}
    out["cpu_parallelism_after"] = cpu_parallelism()
    out["xdist_speedup"] = out["serial"]["wall"] / out["parallel"]["wall"]
    out["xdist_same_verdicts"] = verdicts["serial"] == verdicts["parallel"]
    out["n_results"] = len(verdicts["serial"])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(DATASETS), default="small")
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="scratch directory (default: a new temporary one)")
    parser.add_argument("--xdist", action="store_true",
                        help="also measure 4 small datasets, serial and with -n 2")
    args = parser.parse_args(argv)
    work = args.workdir if args.workdir is not None else Path(tempfile.mkdtemp(
        prefix="hst-align-qa-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(work / "home"), "MPLBACKEND": "Agg"}
    env.pop("PYTEST_ADDOPTS", None)
    # As on a user's machine, Python may cache compiled modules (and pytest its
    # assertion-rewritten ones); a sandbox's PYTHONDONTWRITEBYTECODE=1 would add ~3 s of
    # compiling to every run (reported below as "bytecode cache").
    dont_write = env.pop("PYTHONDONTWRITEBYTECODE", None)
    dataset = load_manifest(REPO / "qa" / "datasets.toml").get(DATASETS[args.size])
    inputs_cache = work / "inputs-cache"

    t0 = time.perf_counter()
    inputs = prepare_inputs(dataset, inputs_cache)
    prep = time.perf_counter() - t0

    # The bare run gets the threshold the QA run will choose (threshold = "auto" is
    # this framework's): the same TweakReg work, minus the estimate (QA overhead).
    find, finding = resolve_imagefind(PipelineRequest(
        inputs=tuple(str(p) for p in inputs.files), tweakreg=dataset.tweakreg,
        imagefind=dataset.imagefind), inputs.files)
    bare_dir = work / "bare"
    shutil.rmtree(bare_dir, ignore_errors=True)
    bare_dir.mkdir()
    (bare_dir / "req.json").write_text(json.dumps({
        "inputs": [str(p) for p in inputs.files], "tweakreg": dict(dataset.tweakreg),
        "imagefind": find, "astrodrizzle": dict(dataset.astrodrizzle)}))
    bare = timed([sys.executable, "-c", BARE, str(bare_dir / "req.json")], bare_dir, env)
    if bare["returncode"] != 0:
        print(bare["stderr"][-3000:], file=sys.stderr)
        return 1
    bare_steps = json.loads(bare["stdout"].strip().splitlines()[-1])

    runs = {}
    cache = work / "qa-cache"
    shutil.rmtree(cache / "products", ignore_errors=True)
    (cache).mkdir(exist_ok=True)
    shutil.copytree(inputs_cache / "inputs", cache / "inputs", dirs_exist_ok=True)
    for phase in ("cold", "warm"):
        out = work / phase
        out.mkdir(exist_ok=True)
        runs[phase] = timed([sys.executable, "-m", "pytest", "qa/", "-q",
                             "-p", "no:cacheprovider", "--dataset", dataset.name,
                             f"--qa-cache-dir={cache}", f"--qa-json={out / 'qa.json'}",
                             f"--html={out / 'qa.html'}", "--self-contained-html"],
                            REPO, env)
        runs[phase]["qa"] = json.loads((out / "qa.json").read_text())
    cold, warm = runs["cold"], runs["warm"]
    ds = cold["qa"]["datasets"][dataset.name]
    checks = cold["qa"]["check_seconds"] + cold["qa"]["figure_seconds"]
    result = {
        "dataset": dataset.name, "size": args.size,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "memory_gb": round(os.sysconf("SC_PAGE_SIZE")
                                       * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3, 1),
                    "bytecode_cache": "on" if dont_write is None
                    else "on (PYTHONDONTWRITEBYTECODE removed for the timed runs)"},
        "phases": {
            "data_preparation": {"wall": prep},
            "bare": {"wall": bare["wall"], "cpu": bare["cpu"], **bare_steps},
            "cold": {"wall": cold["wall"], "cpu": cold["cpu"],
                     "pipeline": ds["phases"].get("pipeline"), "read": ds["phases"].get("read"),
                     "checks": cold["qa"]["check_seconds"],
                     "plots_and_report": cold["qa"]["figure_seconds"]},
            "warm": {"wall": warm["wall"], "cpu": warm["cpu"],
                     "checks": warm["qa"]["check_seconds"],
                     "plots_and_report": warm["qa"]["figure_seconds"]},
        },
        "exit_codes": {"cold": cold["returncode"], "warm": warm["returncode"]},
        "source_finding": finding,
        "overhead_ratio": cold["wall"] / bare["wall"],
        # the same in CPU seconds (all processes): less sensitive to other load
        "overhead_ratio_cpu": cold["cpu"] / bare["cpu"],
        "checks_fraction": checks / bare["wall"],
        "warm_ratio": warm["wall"] / cold["wall"],
        "peak_rss_gb": cold["peak_rss_gb"],
        "bare_peak_rss_gb": bare_steps["peak_rss_mb"] / 1024,
    }
    print(f"{'phase':28s} {'wall s':>8s} {'cpu s':>8s}")
    for name, key in (("data preparation", "data_preparation"), ("bare drizzlepac", "bare"),
                      ("pytest qa/ cold", "cold"), ("pytest qa/ warm", "warm")):
        p = result["phases"][key]
        cpu = f"{p['cpu']:8.1f}" if "cpu" in p else f"{'':8s}"
        print(f"{name:28s} {p['wall']:8.1f} {cpu}")
    print(f"  bare: TweakReg {bare_steps['tweakreg']['wall']:.1f} s, AstroDrizzle "
          f"{bare_steps['astrodrizzle']['wall']:.1f} s")
    print(f"  cold: checks {checks - cold['qa']['figure_seconds']:.2f} s, figures/report "
          f"{cold['qa']['figure_seconds']:.2f} s")
    print(f"  TweakReg threshold {finding['threshold']:g} ({finding['mode']}), estimated "
          f"sources per chip {sorted(n for c in finding['estimated'].values() for n in c.values())}")
    for key in ("overhead_ratio", "overhead_ratio_cpu", "checks_fraction", "warm_ratio",
                "peak_rss_gb", "bare_peak_rss_gb"):
        print(f"{key:28s} {result[key]:8.3f}")
    if args.xdist:
        x = result["xdist"] = xdist_benchmark(work, env)
        result["xdist_speedup"] = x["xdist_speedup"]
        print(f"4 datasets serial {x['serial']['wall']:.1f} s, -n 2 {x['parallel']['wall']:.1f}"
              f" s: xdist_speedup {x['xdist_speedup']:.2f}, same verdicts "
              f"{x['xdist_same_verdicts']} ({x['n_results']} results); cores two "
              f"CPU-bound processes got before/after: {x['cpu_parallelism_before']:.2f}/"
              f"{x['cpu_parallelism_after']:.2f}")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
