"""Command accuracy by noise level, false commands, decode time and confusions on the listening corpus.

Usage: .venv/bin/python benchmarks/corpus/generate_listen.py [--splits dev test tune accents counting talk]  # once
       .venv/bin/python benchmarks/listen_accuracy.py [--split test|dev|tune|accents|counting|talk] [--tune|--ceiling]
       .venv/bin/python benchmarks/corpus/generate_life.py --split test  # once
       .venv/bin/python benchmarks/listen_accuracy.py --corpus life [--json benchmarks/out/listen_life.json]
--corpus life: the corpus that looks like life (rooms, babble, fan noise, levels; listed phrasings, the user's own
words and non-commands), reported by condition and phrasing.
--tune (dev or tune split, by rule) sweeps the rejection threshold; the report uses the shipped Tuning.
--ceiling adds how far a perfect accept/reject decision could go: each missed command counts as right if the command
sentence Moonshine finds likeliest in the whole grammar, unbounded, names it (noisy audio heard suppressed and as it came).
Command accuracy counts the phrasings of the spoken grammar; the corpus also says the typed-only phrasings
(listening.yaml not_spoken), reported on their own line as "all phrasings". The recognizer is a session's: non-command
speech answered as a question counts as acted on, and a command answered as one as wrong.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import time
import wave
from pathlib import Path

from listen_common import load, median
from stats import add_record_option, percentile, record

from voicecoach.catalogue import choosable_routines, spoken_names
from voicecoach.intents import command_of, normalise, parse, vocabulary
from voicecoach.listening.grammar import listening_words, spoken_phrases
from voicecoach.listening.recognizer import Recognizer

SNRS = ("clean", "snr20", "snr10")


def rate(hits: int, total: int) -> str:
    return f"{hits / total:6.1%} ({hits}/{total})" if total else "   n/a"


def phrase_of(text: str) -> str:
    """The intents.yaml phrase inside a corpus command: the generator adds at most one prefix or suffix."""
    words, phrases = listening_words(), vocabulary().phrases
    text = normalise(text)
    candidates = [text] + [text[len(p) + 1:] for p in words.prefixes if text.startswith(p + " ")] \
        + [text[:-len(s) - 1] for s in words.suffixes if text.endswith(" " + s)]
    return next(c for c in candidates if c in phrases)


def report(rows: list[dict], split: str) -> dict:
    """Print the split's figures; return the dashboard's."""
    every = [r for r in rows if r["kind"] == "command"]
    print("all phrasings incl. typed-only, right intent: " + "  ".join(
        f"{snr} {rate(sum(r['got'] == r['intent'] for r in every if r['snr'] == snr), sum(r['snr'] == snr for r in every))}"
        for snr in SNRS))
    spoken = spoken_phrases()
    rows = [r for r in rows if r["kind"] != "command" or phrase_of(r["text"]) in spoken]
    commands = [r for r in rows if r["kind"] == "command"]
    others = [r for r in rows if r["kind"] != "command"]
    print(f"split {split}: {len(commands)} command and {len(others)} non-command files, "
          f"{len({r['speaker'] for r in rows})} speakers (sox bursts counted as one)")
    print("command accuracy (right intent):")
    figures: dict = {}
    for snr in SNRS:
        subset = [r for r in commands if r["snr"] == snr]
        right = sum(r["got"] == r["intent"] for r in subset)
        missed = sum(r["got"] is None for r in subset)
        figures[f"{snr}_pct"] = round(100 * right / max(len(subset), 1), 1)
        print(f"  {snr:6s} {rate(right, len(subset))}   rejected {rate(missed, len(subset))}   "
              f"wrong command {rate(len(subset) - right - missed, len(subset))}")
    acted = [r for r in others if r["got"] is not None]
    print(f"non-commands acted on (a command or an answer): {rate(len(acted), len(others))}, of which answered as "
          f"questions {sum(r['got'] == 'ask' for r in acted)}: " + "; ".join(
              f"{r['heard']!r} for {r['text']!r}" for r in acted if r["got"] == "ask"))
    print(f"commands answered as questions: {rate(sum(r['got'] == 'ask' for r in commands), len(commands))}")
    print("false commands: " + "; ".join(f"{r['heard']!r} for {r['text']!r} -> {r['got']}" for r in acted
                                         if r["got"] != "ask"))
    print("false commands on non-commands (answers not counted):")
    others = [dict(r, got=None) if r["got"] == "ask" else r for r in others]
    print(f"  all    {rate(sum(r['got'] is not None for r in others), len(others))}")
    figures["false_commands"], figures["non_commands"] = sum(r["got"] is not None for r in others), len(others)
    figures["false_pct"] = round(100 * figures["false_commands"] / max(len(others), 1), 1)
    for kind in sorted({r["kind"] for r in others}):
        subset = [r for r in others if r["kind"] == kind]
        print(f"  {kind:7s}{rate(sum(r['got'] is not None for r in subset), len(subset))}")
    for snr in SNRS:
        subset = [r for r in others if r["snr"] == snr]
        print(f"  {snr:7s}{rate(sum(r['got'] is not None for r in subset), len(subset))}")
    rejected = [r for r in commands if r["got"] is None]
    toned = [sum(bool(r["near_miss"]) for r in subset) for subset in (rejected, others)]
    print(f"not-understood tone (near misses): on rejected commands {rate(toned[0], len(rejected))}, "
          f"on non-commands {rate(toned[1], len(others))}")
    times = [r["decode_ms"] for r in rows]
    print(f"decode ms over {len(times)} utterances: p50 {median(times):.0f}, p95 {percentile(times, 95):.0f}, "
          f"max {max(times):.0f}")
    figures["decode_p50_ms"], figures["decode_p95_ms"] = round(median(times)), round(percentile(times, 95))
    confusions = collections.Counter((r["intent"] or r["kind"], r["got"] or "-") for r in rows
                                     if r["got"] != r["intent"])
    print("top rejections (expected -> -, count): " + ", ".join(
        [f"{e} {c}" for (e, g), c in confusions.most_common() if g == "-"][:12]))
    print("top wrong commands (expected -> got, count): " + ", ".join(
        [f"{e}->{g} {c}" for (e, g), c in confusions.most_common() if g != "-"][:16]))
    print("accuracy by speaker (all noise levels):")
    for speaker in sorted({r["speaker"] for r in commands}):
        subset = [r for r in commands if r["speaker"] == speaker]
        print(f"  {speaker:30s}{rate(sum(r['got'] == r['intent'] for r in subset), len(subset))}")
    return figures


def tune(rows: list[dict], recognizer: Recognizer) -> None:
    spoken = spoken_phrases()
    rows = [r for r in rows if r["kind"] != "command" or phrase_of(r["text"]) in spoken]
    shipped = recognizer.tuning
    sweeps = [("max_gap_per_frame", (20, 22, 24, 26, 27, 28, 30, 10**9)), ("politeness_penalty", (0, 2, 3, 4, 5, 8)),
              ("max_extra_vowels", (1, 2, 3, 4, 10**9)), ("min_voiced_frames", (0, 2, 4, 6))]
    for name, values in sweeps:
        print(f"sweep {name} (others as shipped):")
        for value in values:
            line = [f"  {name}={value:<10}"]
            recognizer.tuning = dataclasses.replace(shipped, **{name: value})
            for snr in SNRS:
                subset = [r for r in rows if r["kind"] == "command" and r["snr"] == snr]
                line.append(f"{snr} {sum(r['guess'] == r['intent'] and recognizer.accepts(r) for r in subset) / len(subset):.3f}")
            others = [r for r in rows if r["kind"] != "command"]
            line.append(f"false {sum(r['guess'] is not None and recognizer.accepts(r) for r in others) / len(others):.3f}")
            print("  ".join(line))
    recognizer.tuning = shipped


def searched_best(recognizer: Recognizer, pcm: bytes) -> set[str]:
    """The commands whose sentence Moonshine's grammar search ranks first, suppressed and as it came (see --ceiling)."""
    best = set()
    for audio in {recognizer._clearer(pcm), pcm}:
        transcript = recognizer.transcriber.hear(audio)
        found = transcript.likeliest(recognizer.command_parts, transcript.logprob - 40, 40) if transcript.text else []
        best |= {command_of(text)[0] for text, _, _ in found[:1]}
    return best


def ceiling(rows: list[dict], recognizer: Recognizer) -> None:
    spoken = spoken_phrases()
    commands = [r for r in rows if r["kind"] == "command" and phrase_of(r["text"]) in spoken]
    print("ceiling, a perfect accept/reject of the grammar search's best command (no false command counted):")
    for snr in SNRS:
        subset = [r for r in commands if r["snr"] == snr]
        misses = [r for r in subset if r["got"] != r["intent"]]
        found = sum(r["intent"] in searched_best(recognizer, r["pcm"]) for r in misses)
        print(f"  {snr:6s} {rate(len(subset) - len(misses) + found, len(subset))}   "
              f"of {len(misses)} misses, searched right {found}")


LIFE = Path(os.environ.get("LIFE_CORPUS", Path(__file__).resolve().parent / "out" / "life_corpus"))
CONDITIONS = ("quiet", "room", "babble10", "noise5")


def life(recognizer: Recognizer, split: str, json_path: Path | None, every: int = 1) -> dict:
    """The life corpus, by condition and phrasing; questions answered for non-commands are not false commands.
    With `every` above 1, only every so many sentences (each in all four conditions). Each result is also
    appended to <json>.rows.jsonl as it comes."""
    rows = [row for row in map(json.loads, (LIFE / f"{split}.jsonl").open())
            if int(row["file"].split("-")[1]) % every == 0]
    log = json_path.with_suffix(".rows.jsonl").open("w") if json_path is not None else None
    for row in rows:
        with wave.open(str(LIFE / row["file"])) as w:
            pcm = w.readframes(w.getnframes())
        started = time.perf_counter()
        heard = recognizer.recognize(pcm)
        row["decode_ms"] = (time.perf_counter() - started) * 1000
        row["got"], row["heard"] = heard.intent, heard.extra.get("transcript", heard.text)
        if log is not None:
            log.write(json.dumps(row) + "\n")
            log.flush()
    return life_report(rows, json_path)


def life_report(rows: list[dict], json_path: Path | None) -> dict:
    result: dict = {}
    print(f"life corpus, split {rows[0]['split']}: {len(rows)} files, {len({r['speaker'] for r in rows})} voices")
    for phrasing in ("listed", "own"):
        for condition in CONDITIONS:
            subset = [r for r in rows if r["phrasing"] == phrasing and r["condition"] == condition]
            right = sum(r["got"] == r["intent"] for r in subset)
            result[f"{phrasing}_{condition}_pct"] = round(100 * right / max(len(subset), 1), 1)
            print(f"  commands right, {phrasing:6s} {condition:8s} {rate(right, len(subset))}   wrong command "
                  f"{rate(sum(r['got'] not in (None, 'ask', r['intent']) for r in subset), len(subset))}")
    for condition in CONDITIONS:
        subset = [r for r in rows if r["phrasing"] == "none" and r["condition"] == condition]
        false = [r for r in subset if r["got"] not in (None, "ask")]
        result[f"false_{condition}_pct"] = round(100 * len(false) / max(len(subset), 1), 1)
        print(f"  false commands, non-commands {condition:8s} {rate(len(false), len(subset))}: " + "; ".join(
            f"{r['heard']!r} for {r['text']!r} -> {r['got']}" for r in false[:6]))
    pain = [r for r in rows if r["intent"] == "pain" and r["condition"] in ("quiet", "room")]
    result["pain_quiet_room_pct"] = round(100 * sum(r["got"] == "pain" for r in pain) / max(len(pain), 1), 1)
    print(f"  'it hurts' and its phrasings heard, quiet and room: {rate(sum(r['got'] == 'pain' for r in pain), len(pain))}")
    times = [r["decode_ms"] for r in rows]
    result["decode_ms_p50"], result["decode_ms_p95"] = round(median(times)), round(percentile(times, 95))
    print(f"  decode ms: p50 {median(times):.0f}, p95 {percentile(times, 95):.0f}")
    confusions = collections.Counter((r["intent"] or "none", r["got"] or "-") for r in rows
                                     if r["got"] != r["intent"] and not (r["intent"] is None and r["got"] == "ask"))
    print("  top confusions (said -> got, count): " + ", ".join(f"{e}->{g} {c}" for (e, g), c in confusions.most_common(20)))
    print("  own words missed in quiet: " + "; ".join(f"{r['text']!r} heard {r['heard']!r} -> {r['got']}" for r in rows
                                                     if r["phrasing"] == "own" and r["condition"] == "quiet"
                                                     and r["got"] != r["intent"])[:3000])
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test", choices=["dev", "tune", "accents", "counting", "talk", "test"])
    parser.add_argument("--tune", action="store_true")
    parser.add_argument("--ceiling", action="store_true")
    parser.add_argument("--pocketsphinx-only", action="store_true", help="without Moonshine's second opinion")
    parser.add_argument("--corpus", default="listen", choices=["listen", "life"])
    parser.add_argument("--json", type=Path, help="--corpus life: also write the figures here")
    parser.add_argument("--no-meanings", action="store_true", help="without the meaning classifier's rule")
    add_record_option(parser)
    parser.add_argument("--every", type=int, default=1, help="--corpus life: only every so many sentences")
    parser.add_argument("--report-rows", type=Path, help="--corpus life: report the results kept in this .rows.jsonl")
    args = parser.parse_args()
    if args.record and (args.split != "test" or args.tune or args.pocketsphinx_only or args.no_meanings
                        or args.report_rows):
        parser.error("--record is for the shipped recognizer on a test split, heard in this run")
    if args.corpus == "life" and args.report_rows:
        life_report([json.loads(line) for line in args.report_rows.open()], args.json)
        return
    if args.corpus == "life":
        result = life(Recognizer.with_knowledge(spoken_names(choosable_routines()), not args.pocketsphinx_only,
                                                meanings=not args.no_meanings),
                      "test" if args.split == "test" else "train", args.json, args.every)
        if args.record:
            record("listen_life", result, 1, ["--corpus", "life", "--every", str(args.every)])  # --json: a copy
        return
    if args.tune and args.split == "test":
        parser.error("tune on the dev or tune split, never on test")
    rows = load(args.split)
    transcribe = not (args.pocketsphinx_only or args.tune)
    # A session's recognizer: its grammar holds the knowledge base's questions and the routines' names too.
    recognizer = Recognizer(transcriber=None) if args.tune else Recognizer.with_knowledge(
        spoken_names(choosable_routines()), transcribe, meanings=not args.no_meanings)
    recognizer.exhaustive = args.tune  # every score of every file, so decode times are the full two searches
    for row in rows:
        heard = recognizer.recognize(row["pcm"])
        row["got"], row["decode_ms"], row["near_miss"] = heard.intent, heard.extra["decode_ms"], heard.extra.get("near_miss")
        row["heard"] = heard.extra.get("transcript", heard.text)
        if args.tune:
            row.update({k: v for k, v in heard.extra["evidence"].items() if k != "text"})  # keep the corpus text
            row["guess"] = parse(heard.extra["hypothesis"]).intent
    if args.tune:
        tune(rows, recognizer)
    figures = report(rows, args.split)
    if args.record:
        record("listen_accuracy", figures, 1)
    if args.ceiling and recognizer.transcriber is not None:
        ceiling(rows, recognizer)


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        main()
