"""Write BENCHMARKS.md's first screen, today's figures against their targets, from benchmarks/results/*.json.

Usage: .venv/bin/python benchmarks/dashboard.py [--check]
Each row of benchmarks/dashboard.yaml names the benchmark whose recorded figures fill it (a benchmark run with
--record writes benchmarks/results/NAME.json); --check exits 1 when BENCHMARKS.md is not what the results make.
"""
from __future__ import annotations

import argparse
import json
import operator
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
BENCHMARKS_MD = HERE.parent / "BENCHMARKS.md"
BEGIN, END = "<!-- dashboard: made by benchmarks/dashboard.py from benchmarks/results; do not edit -->", \
    "<!-- end of dashboard -->"
COMPARISONS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "==": operator.eq}


@dataclass(frozen=True)
class Row:
    area: str
    figure: str
    source: str      # the benchmark whose results/<source>.json fills the row
    now: str         # a format string over the recorded figures
    target: str = "—"
    met: str = ""    # "name <= 5 and other >= 90": whether the target is met, from the figures
    history: str = ""  # docs/benchmarks/<history>.md
    note: str = ""   # added to the "measured" cell


def met(condition: str, figures: dict) -> bool:
    for clause in condition.split(" and "):
        name, op, value = clause.split()
        if not COMPARISONS[op](figures[name], float(value)):
            return False
    return True


def render(rows: list[Row], results: dict[str, dict]) -> str:
    lines = ["| area | figure | now | target | met | measured | history |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        result = results[row.source]
        figures = result["figures"]
        verdict = "" if not row.met else ("yes" if met(row.met, figures) else "**no**")
        runs = f", {result['runs']} runs" if result["runs"] > 1 else ""
        measured = f"{result['measured']}, `{result['command']}`{runs}" + (f", {row.note}" if row.note else "")
        history = f"[{row.history}](docs/benchmarks/{row.history}.md)" if row.history else ""
        lines.append(f"| {row.area} | {row.figure} | {row.now.format(**figures)} | {row.target} | {verdict} "
                     f"| {measured} | {history} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if BENCHMARKS.md is out of date")
    args = parser.parse_args()
    spec = yaml.safe_load((HERE / "dashboard.yaml").read_text(encoding="utf-8"))
    rows = [Row(**row) for row in spec["rows"]]
    results = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in (HERE / "results").glob("*.json")}
    missing = sorted({row.source for row in rows} - results.keys())
    if missing:
        print(f"benchmarks/results has no figures of {', '.join(missing)}: run them with --record", file=sys.stderr)
        return 1
    page = BENCHMARKS_MD.read_text(encoding="utf-8")
    if BEGIN not in page or END not in page:
        print(f"BENCHMARKS.md has lost its dashboard markers: put back {BEGIN} and {END}", file=sys.stderr)
        return 1
    before, _, rest = page.partition(BEGIN)
    _, _, after = rest.partition(END)
    made = f"{before}{BEGIN}\n{render(rows, results)}\n{END}{after}"
    if args.check:
        if made != page:
            print("BENCHMARKS.md is not what benchmarks/results make: run benchmarks/dashboard.py", file=sys.stderr)
            return 1
        return 0
    BENCHMARKS_MD.write_text(made, encoding="utf-8")
    print(f"BENCHMARKS.md: {len(rows)} figures from {len(results)} benchmarks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
