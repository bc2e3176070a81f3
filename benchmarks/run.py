"""Benchmark: what `pytest qa/` costs over the bare drizzlepac calls it wraps.

    python benchmarks/run.py --size small --json bench-small.json
    python benchmarks/run.py --size full --repeat 3 --xdist --json bench-full.json
    python benchmarks/run.py --size full --repeat 3 --failing nan --json bench-full-nan.json

Phases, each in a fresh child process (wall and CPU seconds, peak RSS):

1. data preparation: the synthetic dataset is generated (and cached), not timed below;
2. bare: TweakReg then AstroDrizzle on copies, with the dataset's parameters, nothing else;
3. cold: `pytest qa/ --dataset NAME` with an empty product cache (the HTML report too);
4. warm: the same command again (products reused).

``--repeat N`` runs N rounds of bare, cold and warm (each cold run from an empty cache,
memo included); each ratio is the median over the rounds, ``phases`` are the round with
the median overhead and ``rounds`` holds them all. Alternating the bare and QA runs
makes a slow spell of a shared machine hit both; odd rounds run the bare run first, even
rounds last (``order``), so that the run that follows a long one is not always the same.

Ratios: ``overhead_ratio`` = cold wall / bare wall (``overhead_ratio_cpu``: the same in
CPU seconds of all processes, less sensitive to other load on the machine);
``qa_seconds`` = the cold run's wall time outside its TweakReg and AstroDrizzle calls
less the bare run's (what the QA itself adds; a diagnostic, not a target: the two
drizzlepac calls alone differ by several seconds between runs of a shared machine);
``checks_fraction`` = (checks + figures + finishing the session, the HTML report
written) / bare wall; ``warm_ratio`` = warm wall / cold
wall; ``peak_rss_gb`` = the largest RSS of any process of the cold run.

With ``--failing FAULT`` (``nan``, ``nooverlap``) the dataset is that failing variant
(``synthetic-nan``, or ``synthetic-full-nan`` at full size): the bare run is still TweakReg
then AstroDrizzle (what a user would run), while `pytest qa/` stops after TweakReg when
its alignment checks fail (``--qa-drizzle=on-pass``, issue 25); ``overhead_ratio`` is then
the gate's cold wall over the bare wall (target at full size: <= 0.25), and each round
records why the run stopped (``stopped``; a round in which it did not stop is an error).

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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hst_align_qa.fixtures.config.datasets import load_manifest
from hst_align_qa.fixtures.pipeline.request import PipelineRequest
from hst_align_qa.fixtures.pipeline.detection_threshold import resolve_imagefind
from hst_align_qa.fixtures.pipeline.runner import prepare_inputs

REPO = Path(__file__).resolve().parents[1]
DATASETS = {"small": "synthetic-small", "full": "synthetic-full"}
FAILING = ("nan", "nooverlap")  # --failing: synthetic-FAULT, synthetic-full-FAULT
XDIST_DATASETS = ("synthetic-small", "synthetic-shift0.25", "synthetic-shift0.5",
                  "synthetic-skew")

BARE = """
import json, resource, sys, time, warnings
from pathlib import Path
from drizzlepac import astrodrizzle, tweakreg
from hst_align_qa.fixtures.pipeline.child import copy_inputs
from hst_align_qa.fixtures.pipeline.request import ASTRODRIZZLE_FIXED, TWEAKREG_DEFAULTS, TWEAKREG_FIXED
req = json.loads(Path(sys.argv[1]).read_text())
names = copy_inputs(req["inputs"], Path("."))
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


def bare_call(inputs, tweakreg, imagefind, astrodrizzle) -> dict:
    """What :data:`BARE` reads: the inputs and the dataset's parameters, the threshold
    resolved (the one the QA run chooses)."""
    return {"inputs": [str(p) for p in inputs], "tweakreg": dict(tweakreg),
            "imagefind": dict(imagefind), "astrodrizzle": dict(astrodrizzle)}


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


def qa_run(phase: str, dataset: str, cache: Path, out: Path, env: dict) -> dict:
    """``pytest qa/ --dataset NAME`` with the HTML report: :func:`timed` plus its JSON."""
    out.mkdir(parents=True, exist_ok=True)
    run = timed([sys.executable, "-m", "pytest", "qa/", "-q", "-p", "no:cacheprovider",
                 "--dataset", dataset, f"--qa-cache-dir={cache}",
                 f"--qa-json={out / 'qa.json'}", f"--html={out / 'qa.html'}",
                 "--self-contained-html"], REPO, env)
    if not (out / "qa.json").is_file():
        raise SystemExit(f"{phase} run wrote no JSON (exit {run['returncode']}):\n"
                         + (run["stdout"] + run["stderr"])[-3000:])
    run["qa"] = json.loads((out / "qa.json").read_text())
    return run


def one_round(work: Path, dataset, inputs_cache: Path, bare_request: dict,
              env: dict, bare_first: bool = True) -> dict:
    """Bare drizzlepac and `pytest qa/` cold (empty cache) then warm, the bare run first
    or last: times and ratios."""
    def run_bare() -> dict:
        bare_dir = work / "bare"
        shutil.rmtree(bare_dir, ignore_errors=True)
        bare_dir.mkdir()
        (bare_dir / "req.json").write_text(json.dumps(bare_request))
        bare = timed([sys.executable, "-c", BARE, str(bare_dir / "req.json")], bare_dir,
                     env)
        if bare["returncode"] != 0:
            raise SystemExit("bare drizzlepac run failed:\n" + bare["stderr"][-3000:])
        shutil.rmtree(bare_dir, ignore_errors=True)
        return bare

    def run_cold_warm() -> tuple[dict, dict]:
        # Cold means cold: no products, no memo (measurements, figures, digests), only
        # the generated inputs (data generation is not QA's cost).
        shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(inputs_cache / "inputs", cache / "inputs")
        return (qa_run("cold", dataset.name, cache, work / "cold", env),
                qa_run("warm", dataset.name, cache, work / "warm", env))

    cache = work / "qa-cache"
    if bare_first:
        bare = run_bare()
        cold, warm = run_cold_warm()
    else:
        cold, warm = run_cold_warm()
        bare = run_bare()
    bare_steps = json.loads(bare["stdout"].strip().splitlines()[-1])
    ds = cold["qa"]["datasets"][dataset.name]
    entry = json.loads((Path(ds["products"]) / "qa-entry.json").read_text())
    checks = (cold["qa"]["check_seconds"] + cold["qa"]["figure_seconds"]
              + cold["qa"]["report_seconds"])
    steps = entry.get("timings", {})
    # a run the alignment gate stopped has no AstroDrizzle step
    drizzlepac = {"bare": bare_steps["tweakreg"]["wall"] + bare_steps["astrodrizzle"]["wall"],
                  "cold": steps["tweakreg"]["wall"]
                  + steps.get("astrodrizzle", {}).get("wall", 0.0)}
    return {
        "phases": {
            "bare": {"wall": bare["wall"], "cpu": bare["cpu"], **bare_steps},
            "cold": {"wall": cold["wall"], "cpu": cold["cpu"],
                     "prepare": ds["phases"].get("prepare"),
                     "pipeline": ds["phases"].get("pipeline"),
                     "pipeline_steps": steps,
                     "source_estimate": (entry.get("source_finding") or {}).get("seconds"),
                     "read": ds["phases"].get("read"),
                     "checks": cold["qa"]["check_seconds"],
                     "plots": cold["qa"]["figure_seconds"],
                     "report": cold["qa"]["report_seconds"]},
            "warm": {"wall": warm["wall"], "cpu": warm["cpu"],
                     "checks": warm["qa"]["check_seconds"],
                     "plots": warm["qa"]["figure_seconds"],
                     "report": warm["qa"]["report_seconds"]},
        },
        "order": "bare, cold, warm" if bare_first else "cold, warm, bare",
        "stopped": ds.get("stopped"),  # why the alignment gate stopped it (or None)
        "exit_codes": {"cold": cold["returncode"], "warm": warm["returncode"]},
        "source_finding": ds["source_finding"],
        "overhead_ratio": cold["wall"] / bare["wall"],
        # the same in CPU seconds (all processes): less sensitive to other load
        "overhead_ratio_cpu": cold["cpu"] / bare["cpu"],
        "checks_fraction": checks / bare["wall"],
        "warm_ratio": warm["wall"] / cold["wall"],
        "qa_seconds": ((cold["wall"] - drizzlepac["cold"])
                       - (bare["wall"] - drizzlepac["bare"])),
        "peak_rss_gb": cold["peak_rss_gb"],
        "bare_peak_rss_gb": bare_steps["peak_rss_mb"] / 1024,
    }


RATIOS = ("overhead_ratio", "overhead_ratio_cpu", "checks_fraction", "warm_ratio",
          "qa_seconds")


def print_round(i: int, r: dict) -> None:
    p = r["phases"]
    b, c, w = p["bare"], p["cold"], p["warm"]
    steps = c["pipeline_steps"]
    print(f"round {i} ({r['order']}): bare {b['wall']:.1f} s (TweakReg {b['tweakreg']['wall']:.1f}, "
          f"AstroDrizzle {b['astrodrizzle']['wall']:.1f}); cold {c['wall']:.1f} s "
          f"(TweakReg {steps.get('tweakreg', {}).get('wall', float('nan')):.1f}, "
          f"AstroDrizzle {steps.get('astrodrizzle', {}).get('wall', float('nan')):.1f}, "
          f"checks {c['checks']:.2f}, figures {c['plots']:.2f}, report {c['report']:.2f}); "
          f"warm {w['wall']:.1f} s; " + ", ".join(f"{k} {r[k]:.3f}" for k in RATIOS),
          flush=True)
    print("  pipeline child steps (wall s): " + ", ".join(
        f"{name} {step['wall']:.2f}" for name, step in steps.items()), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(DATASETS), default="small")
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="scratch directory, kept (default: a new temporary one, "
                             "about 1.7 GB at full size, removed at the end)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary scratch directory (its path is printed)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of bare, cold and warm runs; the ratios are the "
                             "medians over the rounds (default 1)")
    parser.add_argument("--failing", choices=FAILING, default=None,
                        help="measure this failing variant (synthetic-FAULT, "
                             "synthetic-full-FAULT at full size): the gate's cold wall "
                             "against bare TweakReg + AstroDrizzle")
    parser.add_argument("--xdist", action="store_true",
                        help="also measure 4 small datasets, serial and with -n 2")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        return measure(args, args.workdir)
    work = Path(tempfile.mkdtemp(prefix="hst-align-qa-bench-"))
    try:
        return measure(args, work)
    finally:
        if args.keep:
            print(f"scratch directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, work: Path) -> int:
    """Every round in ``work``; prints the table and writes ``--json``."""
    env = {**os.environ, "HOME": str(work / "home"), "MPLBACKEND": "Agg"}
    env.pop("PYTEST_ADDOPTS", None)
    # As on a user's machine, Python may cache compiled modules (and pytest its
    # assertion-rewritten ones); a sandbox's PYTHONDONTWRITEBYTECODE=1 would add ~3 s of
    # compiling to every run (reported below as "bytecode cache").
    dont_write = env.pop("PYTHONDONTWRITEBYTECODE", None)
    name = DATASETS[args.size]
    if args.failing is not None:
        name = f"{name.rsplit('-', 1)[0]}{'-full' if args.size == 'full' else ''}-{args.failing}"
    dataset = load_manifest(REPO / "qa" / "datasets.toml").get(name)
    inputs_cache = work / "inputs-cache"

    t0 = time.perf_counter()
    inputs = prepare_inputs(dataset, inputs_cache)
    prep = time.perf_counter() - t0

    # The bare run gets the threshold the QA run will choose (threshold = "auto" is
    # this framework's): the same TweakReg work, minus the estimate (QA overhead).
    find, finding = resolve_imagefind(PipelineRequest(
        inputs=tuple(str(p) for p in inputs.files), tweakreg=dataset.tweakreg,
        imagefind=dataset.imagefind), inputs.files)
    bare_request = bare_call(inputs.files, dataset.tweakreg, find, dataset.astrodrizzle)
    rounds = []
    for i in range(1, args.repeat + 1):
        rounds.append(one_round(work, dataset, inputs_cache, bare_request, env,
                                bare_first=i % 2 == 1))
        print_round(i, rounds[-1])
        if args.failing is not None and rounds[-1]["stopped"] is None:
            raise SystemExit(f"{dataset.name}: the QA run did not stop after TweakReg "
                             "(its alignment checks passed): not a failing dataset")
    # The round with the median overhead stands for the run; each ratio is the median
    # over the rounds (rounds alternate bare and QA runs, so slow spells hit both).
    median = sorted(rounds, key=lambda r: r["overhead_ratio"])[(len(rounds) - 1) // 2]
    result = {
        "dataset": dataset.name, "size": args.size, "repeat": args.repeat,
        "failing": args.failing, "stopped": median["stopped"],
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "memory_gb": round(os.sysconf("SC_PAGE_SIZE")
                                       * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3, 1),
                    "loadavg_after": os.getloadavg(),
                    "bytecode_cache": "on" if dont_write is None
                    else "on (PYTHONDONTWRITEBYTECODE removed for the timed runs)"},
        "phases": {"data_preparation": {"wall": prep}, **median["phases"]},
        "exit_codes": median["exit_codes"],
        "source_finding": median["source_finding"],
        **{k: statistics.median(r[k] for r in rounds) for k in RATIOS},
        "peak_rss_gb": max(r["peak_rss_gb"] for r in rounds),
        "bare_peak_rss_gb": max(r["bare_peak_rss_gb"] for r in rounds),
        "rounds": rounds,
    }
    print(f"{'median round':28s} {'wall s':>8s} {'cpu s':>8s}")
    for name, key in (("data preparation", "data_preparation"), ("bare drizzlepac", "bare"),
                      ("pytest qa/ cold", "cold"), ("pytest qa/ warm", "warm")):
        p = result["phases"][key]
        cpu = f"{p['cpu']:8.1f}" if "cpu" in p else f"{'':8s}"
        print(f"{name:28s} {p['wall']:8.1f} {cpu}")
    print(f"  TweakReg threshold {finding['threshold']:g} ({finding['mode']}), estimated "
          f"sources per chip {sorted(n for c in finding['estimated'].values() for n in c.values())}")
    print(f"medians over {args.repeat} round(s):")
    for key in (*RATIOS, "peak_rss_gb", "bare_peak_rss_gb"):
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
