"""One fitted decision over the evidence, against the shipped cascade, on the life corpus: fitted on train only,
reported on test (whole voices, rooms and noise kinds the fit never heard; own words written by someone else).

Usage: .venv/bin/python benchmarks/listen_decide.py [--record]
Reads the evidence caches of benchmarks/listen_evidence.py (benchmarks/out/listen_evidence/life-{train,test}-*.jsonl).
An utterance's candidates are the commands any source names: Moonshine's transcript (intents.yaml's phrases, fuzzily),
Moonshine's search of the command grammar, pocketsphinx's grammar, and the meaning classifier's likeliest intent.
A logistic regression over each candidate's evidence gives the probability that it is what was said; the likeliest
is acted on when that probability beats its cost threshold (voicecoach/data/decision.yaml), else nothing. The
"ceiling" line counts a command right whenever it is among the candidates: no decision over this evidence can do
better. Its L2
weight is chosen by cross-validation over whole voices of the train split. On train rows written in the meaning
classifier's own training sentences, the meaning is taken from a classifier fitted without them (five folds), so
the fit does not learn to trust a meaning it could not have on new words.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from voicecoach.intents import command_of, normalise  # noqa: E402
from voicecoach.listening import meaning  # noqa: E402
from voicecoach.listening.recognizer import Recognizer  # noqa: E402

from stats import add_record_option, record  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

CACHE = HERE / "out" / "listen_evidence"
CONDITIONS = ("quiet", "room", "babble10", "noise5")
FEATURES = ("bias", "by_transcript", "transcript_exact", "transcript_similarity", "by_search", "search_trail",
            "search_lead", "search_per_token", "by_grammar", "grammar_gap", "grammar_extra_vowels",
            "grammar_politeness", "meaning", "meaning_nothing", "meaning_top", "sources", "voiced", "seconds",
            "speech_to_noise", "transcript_words", "transcript_per_token", "is_number")


def load(split: str) -> list[dict]:
    rows = [json.loads(line) for path in sorted(CACHE.glob(f"life-{split}-*.jsonl")) for line in path.open()]
    if not rows:
        sys.exit(f"no evidence for the {split} split in {CACHE}: run benchmarks/listen_evidence.py --split {split}")
    return rows


def clip(x: float | None, low: float, high: float) -> float:
    return 0.0 if x is None or math.isnan(x) else max(low, min(high, x))


def grammar_intent(row: dict) -> str | None:
    if not row["grammar_complete"] or row["grammar_is_number"]:
        return None
    intent, similarity = command_of(row["grammar_text"])
    return intent if similarity == 1.0 else None


def candidates(row: dict, meanings: dict[str, float]) -> dict[str, list[float]]:
    """Each candidate command and its features (FEATURES, in order)."""
    number = row["transcript_is_number"] or row["grammar_is_number"] or Recognizer.is_number(row["transcript"])
    said, similarity = command_of(row["transcript"], 77.0) if row["transcript"] and not number else (None, 0.0)
    searched = command_of(row["best_command"])[0] if row["best_command"] else None
    grammar = grammar_intent(row)
    top = max((k for k in meanings if k != meaning.NOTHING), key=meanings.get, default=None) if meanings else None
    names = {said, searched, grammar, top if not number else None} - {None}
    out = {}
    for c in names:
        by = (said == c, searched == c, grammar == c, top == c)
        out[c] = [1.0, float(by[0]), float(by[0] and similarity == 1.0), similarity * by[0], float(by[1]),
                  clip(row["transcript_logprob"] - row["best_command_fit"], -20, 40) * by[1],
                  clip(row["best_command_fit"] - row["other_command_fit"], 0, 40) * by[1],
                  clip(row["best_command_per_token"], -10, 0) * by[1], float(by[2]),
                  clip(row["grammar_gap"], -50, 100) * by[2], clip(row["extra_vowels"], -5, 10) * by[2],
                  row["politeness_words"] * by[2], meanings.get(c, 0.0), meanings.get(meaning.NOTHING, 1.0),
                  float(by[3]), float(sum(by)), math.log1p(row["voiced_frames"]), clip(row["seconds"], 0, 10),
                  clip(row["speech_to_noise_db"], 0, 60) / 20, clip(len(row["transcript"].split()), 0, 20),
                  clip(row["transcript_per_token"], -10, 0), float(number)]
    return out


def out_of_fold_meanings(rows: list[dict]) -> list[dict[str, float]]:
    """Each row's meaning; for rows written in meanings.yaml's sentences, from a classifier fitted without them."""
    from voicecoach.embedding import embed_cached
    classes = meaning.training_sentences()
    names = sorted(classes)
    sentences = [s for name in names for s in classes[name]]
    labels = numpy.array([names.index(name) for name in names for _ in classes[name]])
    fold_of = {s: i % 5 for i, s in enumerate(sorted(sentences))}
    vectors = embed_cached(sentences)
    spoken = [normalise(row["transcript"]) for row in rows]
    spoken_vectors = embed_cached([s or "." for s in spoken])
    result: list[dict[str, float]] = [row["meaning"] for row in rows]
    for f in range(5):
        keep = numpy.array([fold_of[s] != f for s in sentences])
        model = meaning.MeaningModel(names, meaning.fit_softmax(vectors[keep], labels[keep], len(names), 1e-5))
        which = [i for i, row in enumerate(rows) if row["phrasing"] != "listed"
                 and fold_of.get(normalise(row["text"])) == f]
        if which:
            p = model.probabilities(spoken_vectors[which])
            for i, probabilities in zip(which, p):
                result[i] = dict(zip(names, map(float, probabilities))) if spoken[i] else {meaning.NOTHING: 1.0}
    return result


def samples(rows: list[dict], meanings: list[dict[str, float]]) -> tuple[numpy.ndarray, numpy.ndarray, list]:
    x, y, where = [], [], []
    for i, (row, m) in enumerate(zip(rows, meanings)):
        for c, features in candidates(row, m).items():
            x.append(features)
            y.append(float(c == row["intent"]))
            where.append((i, c))
    return numpy.array(x), numpy.array(y), where


def fit(x: numpy.ndarray, y: numpy.ndarray, l2: float) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """(weights, feature means, feature spreads) of an L2 logistic regression, by Newton's method."""
    mean, spread = x.mean(axis=0), x.std(axis=0)
    mean[0], spread[0] = 0.0, 1.0
    spread[spread == 0] = 1.0
    z = (x - mean) / spread
    w = numpy.zeros(z.shape[1])
    penalty = l2 * len(z) * numpy.eye(len(w))
    penalty[0, 0] = 0.0
    for _ in range(30):
        p = 1 / (1 + numpy.exp(-(z @ w)))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + penalty + 1e-9 * numpy.eye(len(w))
        w -= numpy.linalg.solve(hessian, gradient)
    return w, mean, spread


def probability(model, features: list[float]) -> float:
    w, mean, spread = model
    return float(1 / (1 + math.exp(-float(((numpy.array(features) - mean) / spread) @ w))))


def decide(model, row: dict, meanings: dict[str, float], bar: float = 1.0) -> str | None:
    """The likeliest candidate, if its probability reaches `bar` times its cost threshold; else nothing."""
    scored = {c: probability(model, f) for c, f in candidates(row, meanings).items()}
    if not scored:
        return None
    best = max(scored, key=scored.get)
    return best if scored[best] >= bar * meaning.needed_probability(best) else None


def choose_l2(rows: list[dict], meanings: list[dict[str, float]]) -> float:
    """The L2 weight whose decision, fitted without each train voice in turn, costs least on that voice."""
    voices = sorted({row["speaker"] for row in rows})
    best = None
    for l2 in (1e-4, 1e-3, 1e-2, 1e-1):
        errors = 0
        for voice in voices:
            inside = [i for i, row in enumerate(rows) if row["speaker"] != voice]
            x, y, _ = samples([rows[i] for i in inside], [meanings[i] for i in inside])
            model = fit(x, y, l2)
            errors += sum(decide(model, row, m) != row["intent"]
                          for row, m in zip(rows, meanings) if row["speaker"] == voice)
        print(f"l2 {l2:g}: {errors} of {len(rows)} wrong, each train voice held out in turn")
        if best is None or errors < best[0]:
            best = (errors, l2)
    assert best is not None
    return best[1]


def report(rows: list[dict], got: list[str | None], label: str) -> dict[str, float]:
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row, g in zip(rows, got):
        cell = cells[(row["phrasing"], row["condition"])]
        cell[0] += 1
        cell[1] += (g == row["intent"]) if row["intent"] is not None else (g is not None)
    figures = {}
    for phrasing, what in (("listed", "right"), ("own", "right"), ("none", "false")):
        shares = []
        for condition in CONDITIONS:
            n, k = cells[(phrasing, condition)]
            shares.append(f"{100 * k / n:.1f}% ({k}/{n})" if n else "-")
            if n:
                figures[f"{phrasing}_{condition}_pct"] = 100 * k / n
        print(f"  {label}, {phrasing} ({what}): " + " / ".join(shares))
    pain = [(g, row) for row, g in zip(rows, got) if row["intent"] == "pain" and row["condition"] in ("quiet", "room")]
    figures["pain_quiet_room_pct"] = 100 * sum(g == "pain" for g, _ in pain) / max(len(pain), 1)
    print(f"  {label}, 'it hurts' heard in quiet and room: {sum(g == 'pain' for g, _ in pain)}/{len(pain)}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_record_option(parser)
    args = parser.parse_args()
    train, test = load("train"), load("test")
    train_meanings = out_of_fold_meanings(train)
    test_meanings = [row["meaning"] for row in test]
    l2 = choose_l2(train, train_meanings)
    x, y, _ = samples(train, train_meanings)
    model = fit(x, y, l2)
    print(f"fitted on {len(train)} train utterances ({len(x)} candidates, {int(y.sum())} right), l2 {l2:g}; "
          f"weights: " + ", ".join(f"{name} {w:+.2f}" for name, w in zip(FEATURES, model[0])))
    print(f"train split ({len(train)} utterances; the fit has seen them):")
    report(train, [decide(model, row, m) for row, m in zip(train, train_meanings)], "fitted decision")
    report(train, [row["shipped_intent"] for row in train], "shipped cascade")
    print(f"test split ({len(test)} utterances; held out: voices, rooms, noise kind and own words never fitted on):")
    got = [decide(model, row, m) for row, m in zip(test, test_meanings)]
    ceiling = report(test, [row["intent"] if row["intent"] in candidates(row, m) else None
                            for row, m in zip(test, test_meanings)], "ceiling: the right command is a candidate")
    fitted = report(test, got, "fitted decision")
    shipped = report(test, [row["shipped_intent"] for row in test], "shipped cascade")
    for bar in (0.5, 0.75, 1.25):
        print(f"  with every cost threshold times {bar}:")
        report(test, [decide(model, row, m, bar) for row, m in zip(test, test_meanings)], "fitted decision")
    wrong = defaultdict(int)
    for row, g in zip(test, got):
        if g != row["intent"]:
            wrong[(row["intent"], g)] += 1
    print("  fitted decision's confusions on test (said -> got): " + ", ".join(
        f"{i}->{g} {n}" for (i, g), n in sorted(wrong.items(), key=lambda item: -item[1])[:15]))
    if args.record:
        record("listen_decide", {**{f"fitted_{k}": v for k, v in fitted.items()},
                                 **{f"shipped_{k}": v for k, v in shipped.items()},
                                 **{f"ceiling_{k}": v for k, v in ceiling.items() if not k.startswith("none")},
                                 "train_utterances": len(train), "test_utterances": len(test)}, 1)


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        main()
