"""Time the routine loader on hostile files (alias bombs, huge, binary, deep): each must fail within a second."""
import argparse
import os
import statistics
import time

import yaml
from stats import add_record_option, percentile, record  # benchmarks/ is on sys.path when run as a script

from voicecoach import routine as R

K = 256 * 1024 - 64
RUNS = 15


def fit(s: str) -> str:
    return s[:K]


CASES = {
    "billion_laughs": "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(f"{c}: &{c} [{', '.join(['*'+p]*9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")),
    "many_steps_256k": fit("name: x\nexercises:\n" + "".join(f"  - name: e{i}\n    steps:\n      - say: hello there {i}\n      - hold: 30\n" for i in range(5000))),
    "one_step_late_error_256k": fit("name: x\nexercises:\n  - name: e\n    sides: [" + ", ".join(f"s{i}" for i in range(60000)) + "]\n"),
    "many_keys_256k": fit("".join(f"k{i}: {i}\n" for i in range(40000))),
    "long_string_256k": "name: '" + "x" * K + "'\n",
    "deep_nesting": "[" * K,
    "deep_block_nesting": fit("".join(" " * i + "- " for i in range(0, 700, 2))),
    "binary_256k": os.urandom(K),
    "nul_at_end": ("name: x\n" * 30000) + "\0",
    "tabs": "name: x\nexercises:\n\t- name: e\n",
    "huge_int": "name: x\nexercises:\n  - name: e\n    steps:\n      - hold: " + "9" * 200000 + "\n",
    "python_tag": "name: !!python/object/apply:os.system [echo hi]\n",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pure", action="store_true", help="PyYAML's pure-Python loader instead of the C one")
    add_record_option(parser)
    args = parser.parse_args()
    if args.pure:
        R._Parser = yaml.SafeLoader
    slowest: list[float] = []
    print(f"parser={R._Parser.__name__} runs={RUNS}")
    for name, data in CASES.items():
        times = []
        for _ in range(RUNS):
            t = time.perf_counter()
            try:
                R.load_routine_text(data, "h.yaml", "h")
                msg = "LOADED"
            except R.RoutineError as e:
                msg = str(e)[:90]
            times.append(time.perf_counter() - t)
        times.sort()
        slowest = max(slowest, times, key=statistics.median) if slowest else times
        print(f"{name:26s} median {statistics.median(times) * 1000:8.1f} ms  "
              f"p95 {percentile([t * 1000 for t in times], 95):8.1f} ms  {msg}")
    if args.record:
        record("routine_hostile", {"slowest_median_ms": statistics.median(slowest) * 1000,
                                   "slowest_p95_ms": percentile([t * 1000 for t in slowest], 95)}, RUNS)


if __name__ == "__main__":
    main()
