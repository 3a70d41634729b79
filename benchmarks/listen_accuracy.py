"""Command accuracy by noise level, false commands, decode time and confusions on the listening corpus.

Usage: .venv/bin/python benchmarks/corpus/generate_listen.py      # once, writes benchmarks/out/listen_corpus
       .venv/bin/python benchmarks/listen_accuracy.py [--split test|dev] [--tune]
--tune (dev split only, by rule) sweeps the rejection threshold; the report uses the shipped Tuning.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses

from listen_common import load, median, percentile

from voicecoach.intents import parse
from voicecoach.listening.recognizer import Recognizer

SNRS = ("clean", "snr20", "snr10")


def rate(hits: int, total: int) -> str:
    return f"{hits / total:6.1%} ({hits}/{total})" if total else "   n/a"


def report(rows: list[dict], split: str) -> None:
    commands = [r for r in rows if r["kind"] == "command"]
    others = [r for r in rows if r["kind"] != "command"]
    print(f"split {split}: {len(commands)} command and {len(others)} non-command files, "
          f"{len({r['speaker'] for r in rows})} speakers (sox bursts counted as one)")
    print("command accuracy (right intent):")
    for snr in SNRS:
        subset = [r for r in commands if r["snr"] == snr]
        right = sum(r["got"] == r["intent"] for r in subset)
        missed = sum(r["got"] is None for r in subset)
        print(f"  {snr:6s} {rate(right, len(subset))}   rejected {rate(missed, len(subset))}   "
              f"wrong command {rate(len(subset) - right - missed, len(subset))}")
    print("false commands on non-commands:")
    print(f"  all    {rate(sum(r['got'] is not None for r in others), len(others))}")
    for kind in sorted({r["kind"] for r in others}):
        subset = [r for r in others if r["kind"] == kind]
        print(f"  {kind:7s}{rate(sum(r['got'] is not None for r in subset), len(subset))}")
    for snr in SNRS:
        subset = [r for r in others if r["snr"] == snr]
        print(f"  {snr:7s}{rate(sum(r['got'] is not None for r in subset), len(subset))}")
    times = [r["decode_ms"] for r in rows]
    print(f"decode ms over {len(times)} utterances: p50 {median(times):.0f}, p95 {percentile(times, .95):.0f}, "
          f"max {max(times):.0f}")
    confusions = collections.Counter((r["intent"] or r["kind"], r["got"] or "-") for r in rows
                                     if r["got"] != r["intent"])
    print("top confusions (expected -> got, count):")
    for (expected, got), count in confusions.most_common(12):
        print(f"  {expected} -> {got}: {count}")
    print("accuracy by speaker (all noise levels):")
    for speaker in sorted({r["speaker"] for r in commands}):
        subset = [r for r in commands if r["speaker"] == speaker]
        print(f"  {speaker:30s}{rate(sum(r['got'] == r['intent'] for r in subset), len(subset))}")


def tune(rows: list[dict], recognizer: Recognizer) -> None:
    print("threshold sweep (max_gap_per_frame):")
    for gap in (14, 16, 18, 20, 22, 24, 26, 30, 40, 10**9):
        tuning = dataclasses.replace(recognizer.tuning, max_gap_per_frame=gap)
        line = [f"  gap<={gap:<10}"]
        for snr in SNRS:
            subset = [r for r in rows if r["kind"] == "command" and r["snr"] == snr]
            line.append(f"{snr} {sum(r['guess'] == r['intent'] and accepted(r, tuning) for r in subset) / len(subset):.3f}")
        others = [r for r in rows if r["kind"] != "command"]
        line.append(f"false {sum(r['guess'] is not None and accepted(r, tuning) for r in others) / len(others):.3f}")
        print("  ".join(line))


def accepted(row: dict, tuning) -> bool:
    return row["complete"] and row["vowels"] >= tuning.min_vowels and row["gap"] <= tuning.max_gap_per_frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test", choices=["dev", "test"])
    parser.add_argument("--tune", action="store_true")
    args = parser.parse_args()
    if args.tune and args.split != "dev":
        parser.error("tune on the dev split only")
    rows = load(args.split)
    recognizer = Recognizer()
    for row in rows:
        heard = recognizer.recognize(row["pcm"])
        row["got"], row["decode_ms"] = heard.intent, heard.extra["decode_ms"]
        if args.tune:
            row.update(recognizer.scores(row["pcm"]))
            row["guess"] = parse(row["text"]).intent
    if args.tune:
        tune(rows, recognizer)
    report(rows, args.split)


if __name__ == "__main__":
    main()
