"""Cache each utterance's Evidence (every recognizer's scores, no decision) to benchmarks/out/, so a decision fits in seconds.

Usage: .venv/bin/python benchmarks/listen_evidence.py [--corpus life|listen] [--split test] [--limit N]
Writes benchmarks/out/listen_evidence/<corpus>-<split>.jsonl: the corpus row (text, intent, condition...) and the
Evidence fields, one utterance a line; utterances already cached are not heard again.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import wave
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from voicecoach.cli import choosable_routines, spoken_names  # noqa: E402
from voicecoach.listening.recognizer import Recognizer  # noqa: E402

FOLDERS = {"life": HERE / "out" / "life_corpus", "listen": HERE / "out" / "listen_corpus"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="life", choices=sorted(FOLDERS))
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, help="only the first N utterances")
    args = parser.parse_args()
    folder = FOLDERS[args.corpus]
    rows = [json.loads(line) for line in (folder / f"{args.split}.jsonl").open()][:args.limit]
    out = HERE / "out" / "listen_evidence" / f"{args.corpus}-{args.split}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {json.loads(line)["file"] for line in out.open()} if out.exists() else set()
    recognizer = Recognizer.with_knowledge(spoken_names(choosable_routines()), meanings=True)
    with out.open("a") as cache:
        for n, row in enumerate(rows):
            if row["file"] in done:
                continue
            with wave.open(str(folder / row["file"])) as w:
                evidence = recognizer.evidence(w.readframes(w.getnframes()))
            cache.write(json.dumps({**row, **dataclasses.asdict(evidence)}) + "\n")
            if (n + 1) % 100 == 0:
                print(f"{n + 1}/{len(rows)}", file=sys.stderr)
    print(f"{out}: {len(rows)} utterances")


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        main()
