"""Cache each utterance's Evidence (every recognizer's scores, no decision) to benchmarks/out/, so a decision fits in seconds.

Usage: .venv/bin/python benchmarks/listen_evidence.py [--corpus life|listen] [--split test] [--every K] [--part I/N]
Writes benchmarks/out/listen_evidence/<corpus>-<split>-<I>of<N>.jsonl: the corpus row (text, intent, condition...) and the
Evidence fields, and what the shipped recognizer (the cascade) decided, one utterance a line; utterances already
cached are not heard again. --every K takes every K-th utterance (a smaller sample of the same split).
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
from voicecoach.catalogue import choosable_routines, spoken_names  # noqa: E402
from voicecoach.listening.recognizer import Recognizer  # noqa: E402

FOLDERS = {"life": HERE / "out" / "life_corpus", "listen": HERE / "out" / "listen_corpus"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="life", choices=sorted(FOLDERS))
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, help="only the first N utterances")
    parser.add_argument("--every", type=int, default=1, help="every K-th utterance only")
    parser.add_argument("--part", default="0/1", help="I/N: the I-th of N interleaved parts of what is not cached yet (one process each, started together)")
    args = parser.parse_args()
    folder = FOLDERS[args.corpus]
    part, parts = (int(x) for x in args.part.split("/"))
    out = HERE / "out" / "listen_evidence" / f"{args.corpus}-{args.split}-{part}of{parts}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {json.loads(line)["file"] for cached in out.parent.glob(f"{args.corpus}-{args.split}-*.jsonl")
            for line in cached.open()}  # by any part, or any earlier sample: not heard again
    rows = [json.loads(line) for line in (folder / f"{args.split}.jsonl").open()][::args.every][:args.limit]
    rows = [row for row in rows if row["file"] not in done][part::parts]
    recognizer = Recognizer.with_knowledge(spoken_names(choosable_routines()))
    with out.open("a") as cache:
        for n, row in enumerate(rows):
            with wave.open(str(folder / row["file"])) as w:
                pcm = w.readframes(w.getnframes())
            evidence = recognizer.evidence(pcm)
            meanings, recognizer.meanings = recognizer.meanings, None  # the shipped recognizer's own answer
            shipped = recognizer.recognize(pcm).intent
            recognizer.meanings = meanings
            cache.write(json.dumps({**row, **dataclasses.asdict(evidence), "shipped_intent": shipped}) + "\n")
            if (n + 1) % 100 == 0:
                print(f"{n + 1}/{len(rows)}", file=sys.stderr)
    print(f"{out}: {len(rows)} utterances heard")


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        main()
