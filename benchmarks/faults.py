"""Every fault the user's machine can throw at the coach: what the user heard, and whether anything was lost.

Each module in benchmarks/faults/ defines FAULTS, a list of `Fault`s; this script runs them all (or those whose
name contains --only) in a fresh temporary HOME each, and prints one plain line per fault.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faults.common import Fault, Result, isolated_home  # noqa: E402
from stats import add_record_option, record  # noqa: E402


def all_faults() -> list[Fault]:
    import faults as package
    found: list[Fault] = []
    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if module.name != "common":
            found += importlib.import_module(f"faults.{module.name}").FAULTS
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="run only faults whose name contains this")
    add_record_option(parser)
    args = parser.parse_args()
    failed = ran = 0
    for fault in all_faults():
        if args.only not in fault.name:
            continue
        ran += 1
        started = time.monotonic()
        with isolated_home() as home:
            try:
                result = fault.run(home)
            except Exception as error:  # a fault that breaks the benchmark itself is reported, not hidden
                result = Result(heard=f"benchmark error: {type(error).__name__}: {error}", lost="unknown", ok=False)
        failed += not result.ok
        print(f"{'ok  ' if result.ok else 'FAIL'} {fault.name} ({time.monotonic() - started:.1f} s): "
              f"heard: {result.heard} | lost: {result.lost}", flush=True)
    if not ran:
        print("no fault matched")
        return 1
    print(f"{failed} of {ran} faults went wrong" if failed else f"all {ran} faults handled")
    if args.record and not args.only:
        record("faults", {"handled": ran - failed, "faults": ran, "failed": failed}, 1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
