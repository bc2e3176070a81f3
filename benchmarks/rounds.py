"""The rounds of recorded benchmark runs, pooled: how far the machine's noise reaches.

    python benchmarks/rounds.py docs/benchmarks/*-full*.json

Reads the JSON files ``benchmarks/run.py --json`` wrote and prints one line per round
(bare and cold wall, each one's AstroDrizzle and TweakReg, ``overhead_ratio`` and
``qa_seconds``), then, over all rounds:

- ``overhead_ratio``: mean, median, standard deviation, range;
- ``astrodrizzle_difference``: the cold run's AstroDrizzle less the bare run's in the same
  round (the same call on the same inputs: what the machine alone varies);
- ``qa_seconds`` and ``qa_ratio`` = (bare wall + qa_seconds) / bare wall: the ratio the
  QA's own seconds give when both runs' drizzlepac calls take equally long;
- ``median_of_3_at_most``: for a ratio target (``--target``, default 1.10), the share of
  all 3-round sets of the pooled rounds whose median overhead_ratio meets it: how often a
  ``--repeat 3`` run of code like the pooled runs' would show the target met;
- ``checks_fraction`` and ``checks_median_of_3_at_most``: the same for (checks + figures +
  report) / bare wall against ``--checks-target`` (default 0.03);
- ``both_median_of_3_at_most``: the share of 3-round sets meeting both at once.

A round recorded in several files (the same bare and cold walls) counts once.
"""
from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

__all__ = ["load_rounds", "pooled"]


def _round(doc_round: dict[str, Any], source: str) -> dict[str, Any]:
    b, c = doc_round["phases"]["bare"], doc_round["phases"]["cold"]
    steps = c["pipeline_steps"]
    row = {"source": source, "order": doc_round.get("order"),
           "bare": b["wall"], "cold": c["wall"],
           "bare_astrodrizzle": b["astrodrizzle"]["wall"],
           "cold_astrodrizzle": steps["astrodrizzle"]["wall"],
           "bare_tweakreg": b["tweakreg"]["wall"], "cold_tweakreg": steps["tweakreg"]["wall"],
           "overhead_ratio": doc_round["overhead_ratio"],
           "checks_fraction": doc_round["checks_fraction"]}
    # as benchmarks/run.py defines it (recomputed: older files do not record it)
    row["qa_seconds"] = ((row["cold"] - row["cold_astrodrizzle"] - row["cold_tweakreg"])
                         - (row["bare"] - row["bare_astrodrizzle"] - row["bare_tweakreg"]))
    return row


def load_rounds(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Every round of the benchmark JSON files ``paths`` (a file without ``rounds`` is
    one round), each round once. A ``--failing`` run (its QA run stops before
    AstroDrizzle) is not pooled with the others: it is named on stderr and left out.

    Raises
    ------
    SystemExit
        Naming the file, when one is not a benchmark's JSON.
    """
    rounds: dict[tuple[float, float], dict[str, Any]] = {}
    for path in paths:
        path = Path(path)
        try:
            doc = json.loads(path.read_text())
            if isinstance(doc, dict) and doc.get("failing"):
                print(f"not pooled: {path.name}: a --failing {doc['failing']} run (its QA "
                      "run stops before AstroDrizzle)", file=sys.stderr)
                continue
            for r in doc.get("rounds", [doc]):
                row = _round(r, path.name)
                rounds.setdefault((round(row["bare"], 3), round(row["cold"], 3)), row)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SystemExit(f"{path}: not a benchmarks/run.py JSON file "
                             f"({type(exc).__name__}: {exc})") from None
    return list(rounds.values())


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {"mean": statistics.mean(values), "median": statistics.median(values),
            "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values)}


def _median_of_3_at_most(values: Sequence[float], target: float) -> float | None:
    """The share of all 3-element sets of ``values`` whose median is at most ``target``."""
    triples = list(itertools.combinations(values, 3))
    return (sum(statistics.median(t) <= target for t in triples) / len(triples)
            if triples else None)


def pooled(rounds: Sequence[dict[str, Any]], target: float = 1.10,
           checks_target: float = 0.03) -> dict[str, Any]:
    """Statistics over ``rounds`` (:func:`load_rounds`); see the module's docstring."""
    if not rounds:
        raise ValueError("no rounds to pool")
    ratios = [r["overhead_ratio"] for r in rounds]
    checks = [r["checks_fraction"] for r in rounds]
    return {
        "rounds": len(rounds),
        "overhead_ratio": _spread(ratios),
        "rounds_at_most_target": sum(x <= target for x in ratios),
        "astrodrizzle_difference": _spread(
            [r["cold_astrodrizzle"] - r["bare_astrodrizzle"] for r in rounds]),
        "qa_seconds": _spread([r["qa_seconds"] for r in rounds]),
        "qa_ratio": _spread([(r["bare"] + r["qa_seconds"]) / r["bare"] for r in rounds]),
        "target": target,
        "median_of_3_at_most": _median_of_3_at_most(ratios, target),
        "checks_fraction": _spread(checks),
        "checks_target": checks_target,
        "checks_median_of_3_at_most": _median_of_3_at_most(checks, checks_target),
        "both_median_of_3_at_most": _both(rounds, target, checks_target),
    }


def _both(rounds: Sequence[dict[str, Any]], target: float, checks_target: float,
          ) -> float | None:
    """The share of 3-round sets whose median overhead_ratio and median checks_fraction
    both meet their targets."""
    triples = list(itertools.combinations(rounds, 3))
    return (sum(statistics.median(r["overhead_ratio"] for r in t) <= target
                and statistics.median(r["checks_fraction"] for r in t) <= checks_target
                for t in triples) / len(triples)) if triples else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--target", type=float, default=1.10,
                        help="overhead_ratio target (default 1.10)")
    parser.add_argument("--checks-target", type=float, default=0.03,
                        help="checks_fraction target (default 0.03)")
    parser.add_argument("--json", type=Path, default=None, help="write the pooled numbers")
    args = parser.parse_args(argv)
    rounds = load_rounds(args.files)
    for r in rounds:
        print(f"{r['source'][:44]:44s} bare {r['bare']:5.1f} (AD {r['bare_astrodrizzle']:5.1f}, "
              f"TR {r['bare_tweakreg']:4.1f})  cold {r['cold']:5.1f} (AD "
              f"{r['cold_astrodrizzle']:5.1f}, TR {r['cold_tweakreg']:4.1f})  "
              f"ratio {r['overhead_ratio']:.3f}  qa_seconds {r['qa_seconds']:4.1f}  checks "
              f"{r['checks_fraction']:.3f}")
    out = pooled(rounds, args.target, args.checks_target)
    print(f"{out['rounds']} rounds")
    for key in ("overhead_ratio", "astrodrizzle_difference", "qa_seconds", "qa_ratio",
                "checks_fraction"):
        s = out[key]
        print(f"{key:24s} mean {s['mean']:7.3f}  median {s['median']:7.3f}  sd "
              f"{s['sd']:6.3f}  range {s['min']:.3f} .. {s['max']:.3f}")
    print(f"rounds with overhead_ratio <= {args.target:g}: {out['rounds_at_most_target']} of "
          f"{out['rounds']}")
    if out["median_of_3_at_most"] is not None:
        print(f"3-round sets whose median meets it: {out['median_of_3_at_most']:.2f}; "
              f"whose checks_fraction median is <= {args.checks_target:g}: "
              f"{out['checks_median_of_3_at_most']:.2f}; both: "
              f"{out['both_median_of_3_at_most']:.2f}")
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
