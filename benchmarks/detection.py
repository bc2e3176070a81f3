"""Detection and false-alarm rates of the checks on synthetic data with known faults.

For every fault variant of the embedded synthetic dataset (and for clean data) and for
several seeds, run the real pipeline (cached) and every registered check, then write a
Markdown table of how often each check fails (and warns) per scenario::

    python benchmarks/detection.py --seeds 3 --clean-seeds 12 --out docs/detection.md

A fault counts as caught when at least one of the checks expected to catch it fails. On
clean data two things are counted apart: a failed pipeline run (TweakReg left an image
without a solution, a NaN shift-file row: the gate is right to fail it, but the clean
dataset is no baseline on that seed) and a false alarm (a check fails although every
image was fitted). ``--clean-from K`` starts the clean seeds at K (seeds nobody tuned
on)::

    python benchmarks/detection.py --seeds 3 --clean-seeds 30 --clean-from 16 --scenario clean
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from astropy.table import Table

from hst_align_qa.checks.products import GaiaCatalog
from hst_align_qa.checks.registry import discover
from hst_align_qa.checks.result import Status
from hst_align_qa.fixtures.stores.cache import default_cache_dir
from hst_align_qa.fixtures.config.datasets import load_manifest
from hst_align_qa.fixtures.verdicts.judge import judge, threshold_table
from hst_align_qa.fixtures.pipeline.runner import run_dataset

REPO = Path(__file__).resolve().parents[1]

# scenario -> (manifest dataset, checks expected to catch it). "<detector>:<fault>" rows
# are the same faults on the other detectors' synthetic data.
SCENARIOS = {
    "clean": ("synthetic-small", ()),
    "shift0.25": ("synthetic-shift0.25", ("visit_registration", "weight_imprint")),
    "shift0.5": ("synthetic-shift0.5", ("visit_registration", "weight_imprint")),
    # one visit's solution 1 px wrong while TweakReg's fit RMS stays small
    "shift1": ("synthetic-shift1", ("visit_registration", "weight_imprint")),
    "skew": ("synthetic-skew", ("residual_correlation",)),
    "nan": ("synthetic-nan", ("shiftfile_nans", "match_counts")),
    "nooverlap": ("synthetic-nooverlap", ("shiftfile_nans", "match_counts")),
    "mixedframe": ("synthetic-mixedframe", ("wcs_consistency",)),
    # every visit 40 mas off while claiming FIT_IMG_GAIAeDR3
    "gaia40": ("synthetic-gaia40", ("absolute_astrometry",)),
    # large proper motions: no check may fail (absolute_astrometry propagates them)
    "pm": ("synthetic-pm", ()),
    "uvis:clean": ("synthetic-uvis-small", ()),
    "uvis:shift1": ("synthetic-uvis-shift1", ("visit_registration", "weight_imprint")),
    "uvis:nan": ("synthetic-uvis-nan", ("shiftfile_nans", "match_counts")),
    "uvis:mixedframe": ("synthetic-uvis-mixedframe", ("wcs_consistency",)),
    "uvis:skew": ("synthetic-uvis-skew", ("residual_correlation",)),
    "uvis:nooverlap": ("synthetic-uvis-nooverlap", ("shiftfile_nans", "match_counts")),
    "ir:clean": ("synthetic-ir-small", ()),
    "ir:shift1": ("synthetic-ir-shift1", ("visit_registration", "weight_imprint")),
    "ir:nan": ("synthetic-ir-nan", ("shiftfile_nans", "match_counts")),
    "ir:mixedframe": ("synthetic-ir-mixedframe", ("wcs_consistency",)),
    "ir:skew": ("synthetic-ir-skew", ("residual_correlation",)),
    "ir:nooverlap": ("synthetic-ir-nooverlap", ("shiftfile_nans", "match_counts")),
}
DETECTORS = {"": "ACS/WFC", "uvis": "WFC3/UVIS", "ir": "WFC3/IR"}


class MeasurementError(RuntimeError):
    """A run or a check errored: the table would be wrong, so the measurement stops."""


def unfitted(run) -> list[str]:
    """Images TweakReg left without a solution in ``run``'s current shift files (NaN rows)."""
    files = run.products.shiftfiles if run.products is not None else ()
    return [r.image for sf in files for r in sf.rows
            if not all(math.isfinite(v) for v in (r.xsh, r.ysh, r.rot, r.scale))]


def with_truth_gaia(run):
    """``run`` with the synthetic generator's Gaia catalog (``gaia.ecsv`` beside the
    inputs) as its Gaia sources: the catalog a loopback MAST service would serve, read
    directly (the benchmark measures the checks, not the client)."""
    if run.products is None or run.inputs is None or not run.inputs.files:
        return run
    path = Path(run.inputs.files[0]).parent / "gaia.ecsv"
    if not path.is_file():
        return run
    cat = GaiaCatalog(Table.read(path, format="ascii.ecsv"), "Gaia DR3 (synthetic)", str(path))
    return replace(run, products=replace(run.products, gaia=cat))


def _seeds(scenario: str, seeds: list[int], clean_seeds: list[int]) -> list[int]:
    return clean_seeds if not SCENARIOS[scenario][1] else seeds


def measure(seeds: list[int], cache: Path, scenarios: list[str],
            clean_seeds: list[int] | None = None) -> dict:
    manifest = load_manifest(REPO / "qa" / "datasets.toml")
    specs = discover()
    out = {}
    for scenario in scenarios:
        base = manifest.get(SCENARIOS[scenario][0])
        per_seed = []
        for seed in _seeds(scenario, seeds, clean_seeds or seeds):
            ds = replace(base, name=f"{base.name}-seed{seed}",
                         synthetic={**base.synthetic, "seed": seed})
            t0 = time.perf_counter()
            run = with_truth_gaia(run_dataset(ds, cache))
            if run.error is not None or run.skipped is not None:
                raise MeasurementError(f"{scenario} seed {seed}: dataset {ds.name} was not "
                                       f"judged: {run.error or run.skipped}")
            table = threshold_table(ds.thresholds)
            worst = {}
            for spec in specs:
                results = judge(run, spec, table)
                errors = [r for r in results if r.status is Status.ERROR]
                if errors:  # an error is no verdict: it is neither caught nor an alarm
                    raise MeasurementError(f"{scenario} seed {seed}: {spec.name} errored on "
                                           f"{errors[0].subject}: {errors[0].message}")
                worst[spec.name] = max((r.status for r in results), key=lambda s: s.rank)
            lost = unfitted(run)
            per_seed.append((seed, worst, lost))
            print(f"{scenario:10s} seed {seed}: "
                  + ", ".join(f"{k}={v.value}" for k, v in worst.items())
                  + (f"; UNFITTED {', '.join(lost)}" if lost else "")
                  + f" ({time.perf_counter() - t0:.0f} s)", flush=True)
        out[scenario] = per_seed
    return out


def _seed_text(seeds: list[int]) -> str:
    return f"{seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) \
        else ", ".join(map(str, seeds))


def table(results: dict) -> str:
    checks = sorted({c for runs in results.values() for _, r, _ in runs for c in r})
    lines = ["Cell: runs where the check FAILED / WARNED. Bold: the checks expected to catch "
             "the fault.", "",
             "| detector | scenario | seeds | caught (or false alarm) | "
             + " | ".join(checks) + " |", "|---|---|---|---|" + "---|" * len(checks)]
    for scenario, runs in results.items():
        expected = SCENARIOS[scenario][1]
        prefix, _, fault = scenario.rpartition(":")
        n = len(runs)
        verdicts = [r for _, r, _ in runs]
        if expected:
            caught = sum(any(r[c] is Status.FAIL for c in expected) for r in verdicts)
            head = f"{caught}/{n} caught"
        else:  # a failed fit is the pipeline's failure, not a check's false alarm
            failed = [(s, lost) for s, _, lost in runs if lost]
            alarms = sum(any(v is Status.FAIL for v in r.values()) for _, r, lost in runs
                         if not lost)
            head = f"{len(failed)}/{n} failed fits, {alarms}/{n} false alarms" + "".join(
                f"; seed {s}: {', '.join(lost)} unfitted" for s, lost in failed)
        cells = []
        for c in checks:
            count = Counter(r[c] for r in verdicts)
            text = f"{count[Status.FAIL]} / {count[Status.WARN]}"
            cells.append(f"**{text}**" if c in expected else text)
        lines.append(f"| {DETECTORS[prefix]} | {fault} | {_seed_text([s for s, _, _ in runs])} "
                     f"| {head} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 1..N per fault scenario")
    parser.add_argument("--clean-seeds", type=int, default=None,
                        help="N seeds of the clean scenarios (default: --seeds)")
    parser.add_argument("--clean-from", type=int, default=1,
                        help="first seed of the clean scenarios (default 1)")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS),
                        help="only these scenarios (repeatable)")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write the table here")
    args = parser.parse_args(argv)
    seeds = list(range(1, args.seeds + 1))
    clean = list(range(args.clean_from, args.clean_from + (args.clean_seeds or args.seeds)))
    cache = args.cache_dir if args.cache_dir is not None else default_cache_dir()
    scenarios = args.scenario if args.scenario is not None else list(SCENARIOS)
    try:
        results = measure(seeds, cache, scenarios, clean)
    except MeasurementError as exc:
        print(f"detection: stopped, nothing measured: {exc}", file=sys.stderr)
        return 2
    text = table(results)
    print(text)
    if args.out is not None:
        command = " ".join(["python benchmarks/detection.py", f"--seeds {args.seeds}"]
                           + ([f"--clean-seeds {args.clean_seeds}"] if args.clean_seeds
                              else [])
                           + ([f"--clean-from {args.clean_from}"] if args.clean_from != 1
                              else [])
                           + [f"--scenario {s}" for s in args.scenario or ()]
                           + [f"--out {args.out}"])
        header = ("# Detection and false-alarm rates\n\nGenerated by "
                  f"`{command}` on {time.strftime('%Y-%m-%d')}: the real TweakReg and "
                  "AstroDrizzle on each synthetic dataset and seed, every registered check. "
                  "Warnings do not fail a run unless `--qa-strict`; on clean data a failed "
                  "fit (TweakReg left an image unfitted) is counted apart from a false "
                  "alarm (a failing check on a run that fitted every image).\n\n")
        args.out.write_text(header + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
