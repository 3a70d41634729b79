"""The session's context as a prior (voicecoach/listening/prior.py): a listening split heard with no context, and again
as if the coach had just asked for replies, paired file by file.

Usage: .venv/bin/python benchmarks/listen_context.py --shares       # each intent's share of the five tuning splits
       .venv/bin/python benchmarks/listen_context.py --split dev|tune|accents|counting|talk|test [--record]
--shares prints the `tuned_share` table of voicecoach/data/decision.yaml's `asked`. A split is reported for each
context: the asked-for commands heard right and how many without pocketsphinx's slower search, other commands turned
into an asked-for reply, and non-commands (chatter, television, numbers) taken for one.
"""
from __future__ import annotations

import argparse
import collections
import json
import statistics

from listen_common import CORPUS, load
from stats import add_record_option, percentile, record

from voicecoach.catalogue import choosable_routines, spoken_names
from voicecoach.intents import INTENTS
from voicecoach.listening import prior
from voicecoach.listening.recognizer import Recognizer
from voicecoach.package_data import lines
from voicecoach.ports import ListeningContext

TUNING_SPLITS = ("dev", "tune", "accents", "counting", "talk")
# The lines after which the session waits for one of the replies they name, and the mode it waits in.
CONTEXTS = (("paused", "paused"), ("paused", "already_paused"))


def shares() -> None:
    rows = [json.loads(line) for split in TUNING_SPLITS for line in (CORPUS / f"{split}.jsonl").open()]
    counts = collections.Counter(row.get("intent") for row in rows if row["kind"] == "command")
    print(f"{len(rows)} files of {', '.join(TUNING_SPLITS)}; each intent's share:")
    print("  tuned_share: {" + ", ".join(f"{intent}: {counts[intent] / len(rows):.4f}"
                                          for intent in INTENTS if counts[intent]) + "}")


def heard_in(recognizer: Recognizer, rows: list[dict], context: ListeningContext | None) -> list[dict]:
    everything = ListeningContext("saying", frozenset(INTENTS))  # acts on all: only the prior differs
    recognizer.expect(context or everything)
    out = []
    for row in rows:
        heard = recognizer.recognize(row["pcm"])
        out.append({"got": heard.intent, "ms": heard.extra["decode_ms"], "by": heard.extra.get("recognizer"),
                    "heard": heard.extra.get("transcript", heard.text)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test", choices=list(TUNING_SPLITS) + ["test"])
    parser.add_argument("--shares", action="store_true")
    add_record_option(parser)
    args = parser.parse_args()
    if args.shares:
        shares()
        return
    if args.record and args.split != "test":
        parser.error("--record is for the test split")
    rows = load(args.split)
    recognizer = Recognizer.with_knowledge(spoken_names(choosable_routines()))
    plain = heard_in(recognizer, rows, None)
    figures: dict = {}
    for mode, key in CONTEXTS:
        line = lines()[key]
        asked = prior.asked_for(line)
        told = heard_in(recognizer, rows, ListeningContext(mode, frozenset(INTENTS), line))
        bonus = {intent: round(prior.evidence_bonus(intent, asked), 2) for intent in sorted(asked)}
        print(f"after {line!r}: asked for {bonus} (nats less evidence)")
        for snr in ("clean", "snr20", "snr10"):
            pairs = [(row, a, b) for row, a, b in zip(rows, plain, told) if row["snr"] == snr]
            said = [(row, a, b) for row, a, b in pairs if row.get("intent") in asked]
            other = [(row, a, b) for row, a, b in pairs if row["kind"] == "command" and row.get("intent") not in asked]
            talk = [(row, a, b) for row, a, b in pairs if row["kind"] != "command"]

            def count(group, test):
                return [sum(test(row, x) for row, *xs in group for x in xs[i:i + 1]) for i in (0, 1)]

            right = count(said, lambda row, x: x["got"] == row["intent"])
            alone = count(said, lambda row, x: x["got"] == row["intent"] and x["by"] == "moonshine")
            turned = count(other, lambda row, x: x["got"] in asked)
            taken = count(talk, lambda row, x: x["got"] in asked)
            ms = [[x["ms"] for _, *xs in said for x in xs[i:i + 1]] or [0.0] for i in (0, 1)]
            print(f"  {snr:6s} asked-for commands right {right[0]} -> {right[1]} of {len(said)} (by Moonshine alone "
                  f"{alone[0]} -> {alone[1]}; decode median {statistics.median(ms[0]):.0f} -> "
                  f"{statistics.median(ms[1]):.0f} ms, p95 {percentile(ms[0], 95):.0f} -> "
                  f"{percentile(ms[1], 95):.0f}); "
                  f"other commands taken for an asked-for reply {turned[0]} -> {turned[1]} of {len(other)}; "
                  f"non-commands taken for one {taken[0]} -> {taken[1]} of {len(talk)}")
            for row, a, b in other + talk:
                if b["got"] in asked and b["got"] != a["got"]:
                    print(f"    newly {b['got']}: {row['text']!r} ({row['speaker']}) heard {b['heard']!r}")
            for name, value in (("said", len(said)), ("right", right[1]), ("right_before", right[0]),
                                ("alone", alone[1]), ("alone_before", alone[0]), ("others", len(other)),
                                ("others_taken", turned[1]), ("others_taken_before", turned[0]), ("talk", len(talk)),
                                ("talk_taken", taken[1]), ("talk_taken_before", taken[0])):
                figures[f"{key}_{name}"] = figures.get(f"{key}_{name}", 0) + value  # over the three noise levels
    if args.record:
        record("listen_context", figures, 1)


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        main()
