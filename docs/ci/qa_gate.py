"""Gate a CI job on hst-align-qa's machine outputs: the --qa-json file and the JUnit XML.

Copy this file into your repository (e.g. ``ci/qa_gate.py``); it needs only Python's
standard library. It prints a Markdown summary and exits non-zero when:

- pytest's own exit status was neither 0 nor 1 (a usage error, an unwritable output,
  no tests: the verdicts cannot be trusted);
- the JSON judged no dataset, or a dataset's verdict is not ``pass`` (or ``warn``
  without ``--strict``): a dataset where nothing could be judged never passes;
- any result is ``fail`` or ``error`` (or ``warn`` with ``--strict``);
- the JUnit XML has a failed or errored test case, or a property ``<subject>:status``
  with such a status, that the JSON does not account for (the two must agree).

Usage::

    python ci/qa_gate.py --json qa.json --junit qa-junit.xml --pytest-exit "$rc" [--strict]
"""
from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, help="the --qa-json file")
    parser.add_argument("--junit", required=True, help="the --junitxml file")
    parser.add_argument("--pytest-exit", type=int, default=0, help="pytest's exit status")
    parser.add_argument("--strict", action="store_true", help="warn fails the gate")
    args = parser.parse_args(argv)

    bad = {"fail", "error"} | ({"warn"} if args.strict else set())
    good_verdicts = {"pass"} | (set() if args.strict else {"warn"})
    problems: list[str] = []
    if args.pytest_exit not in (0, 1):
        problems.append(f"pytest exited with status {args.pytest_exit} (not a verdict: "
                        "see the job log)")

    try:
        with open(args.json, encoding="utf-8") as f:
            qa = json.load(f)
    except (OSError, ValueError) as exc:
        print(f"**hst-align-qa gate: cannot read {args.json}: {exc}**")
        return 1

    print("| dataset | verdict | counts |\n| --- | --- | --- |")
    for name, d in sorted(qa.get("datasets", {}).items()):
        counts = ", ".join(f"{n} {k}" for k, n in d.get("counts", {}).items() if n)
        print(f"| {name} | {d['verdict'].upper()} | {counts} |")
        if d["verdict"] not in good_verdicts:
            why = d.get("error") or d.get("skipped") or "see the results below"
            problems.append(f"dataset {name}: {d['verdict'].upper()} ({why})")
    if not qa.get("datasets"):
        problems.append("no dataset was judged")

    flagged = set()
    for r in qa.get("results", []):
        if r["status"] in bad:
            flagged.add(r["subject"])
            problems.append(f"[{r['status']}] {r['dataset']} {r['check']} "
                            f"{r['subject']}: {r['message']}")

    try:
        root = ET.parse(args.junit).getroot()
    except (OSError, ET.ParseError) as exc:
        problems.append(f"cannot read {args.junit}: {exc}")
        root = None
    if root is not None:
        for case in root.iter("testcase"):
            statuses = {p.get("name", "")[:-len(":status")]: p.get("value")
                        for p in case.iter("property")
                        if p.get("name", "").endswith(":status")}
            for subject, status in statuses.items():
                if status in bad and subject not in flagged:
                    problems.append(f"JUnit {case.get('name')}: {subject} is {status}, "
                                    "but the JSON does not say so")
            failed = case.find("failure") is not None or case.find("error") is not None
            if failed and not any(s in bad for s in statuses.values()):
                problems.append(f"JUnit {case.get('name')} failed: "
                                + (case.find("failure") if case.find("failure") is not None
                                   else case.find("error")).get("message", "")[:300])

    if problems:
        print(f"\n**hst-align-qa gate: {len(problems)} problem(s)**\n")
        for p in problems:
            print(f"- {p}")
        return 1
    print("\n**hst-align-qa gate: passed**")
    return 0


if __name__ == "__main__":
    sys.exit(main())
