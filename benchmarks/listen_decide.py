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
import dataclasses
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from voicecoach import softmax  # noqa: E402
from voicecoach.intents import command_of, normalise  # noqa: E402
from voicecoach.listening import meaning  # noqa: E402
from voicecoach.listening.evidence import Evidence  # noqa: E402
from voicecoach.listening.recognizer import Recognizer  # noqa: E402

from stats import add_record_option, record  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

CACHE = HERE / "out" / "listen_evidence"
CONDITIONS = ("quiet", "room", "babble10", "noise5")
EVIDENCE_FIELDS = [f.name for f in dataclasses.fields(Evidence)]
# Each candidate's own evidence, then the utterance's (Evidence.features(), the same for every candidate).
CANDIDATE_FEATURES = ("by_transcript", "transcript_exact", "transcript_similarity", "by_search", "search_trail",
                      "search_lead", "search_per_token", "by_grammar", "grammar_gap", "grammar_extra_vowels",
                      "grammar_politeness", "meaning", "meaning_top", "sources")


def load(split: str) -> list[dict]:
    rows = [json.loads(line) for path in sorted(CACHE.glob(f"life-{split}-*.jsonl")) for line in path.open()]
    if not rows:
        sys.exit(f"no evidence for the {split} split in {CACHE}: run benchmarks/listen_evidence.py --split {split}")
    return rows


def clip(x: float | None, low: float, high: float) -> float:
    return 0.0 if x is None or math.isnan(x) else max(low, min(high, x))


def evidence_of(row: dict, meanings: dict[str, float]) -> Evidence:
    """The cached row as the recognizer's Evidence, with the meaning the decision may use for it."""
    return dataclasses.replace(Evidence(**{name: row[name] for name in EVIDENCE_FIELDS}), meaning=meanings)


def grammar_intent(row: dict) -> str | None:
    if not row["grammar_complete"] or row["grammar_is_number"]:
        return None
    intent, similarity = command_of(row["grammar_text"])
    return intent if similarity == 1.0 else None


def candidates(row: dict, meanings: dict[str, float]) -> dict[str, list[float]]:
    """Each candidate command and its features (CANDIDATE_FEATURES, then the utterance's Evidence.features())."""
    evidence = evidence_of(row, meanings)
    number = evidence.transcript_is_number or evidence.grammar_is_number or Recognizer.is_number(evidence.transcript)
    said, similarity = command_of(evidence.transcript, 77.0) if evidence.transcript and not number else (None, 0.0)
    searched = evidence.best_command_intent
    grammar = grammar_intent(row)
    top = max((k for k in meanings if k != meaning.NOTHING), key=meanings.get, default=None)
    utterance = list(evidence.features().values())
    out = {}
    for c in {said, searched, grammar, top if not number else None} - {None}:
        by = (said == c, searched == c, grammar == c, top == c)
        out[c] = [float(by[0]), float(by[0] and similarity == 1.0), similarity * by[0], float(by[1]),
                  clip(evidence.transcript_logprob - evidence.best_command_fit, -20, 40) * by[1],
                  clip(evidence.best_command_fit - evidence.other_command_fit, 0, 40) * by[1],
                  clip(evidence.best_command_per_token, -10, 0) * by[1], float(by[2]),
                  clip(evidence.grammar_gap, -50, 100) * by[2], clip(evidence.extra_vowels, -5, 10) * by[2],
                  evidence.politeness_words * by[2], meanings.get(c, 0.0), float(by[3]), float(sum(by)),
                  *utterance]
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


def samples(rows: list[dict], meanings: list[dict[str, float]]) -> tuple[numpy.ndarray, list[int]]:
    """Every candidate's features, and whether it is what was said (1) or not (0)."""
    x, y = [], []
    for row, m in zip(rows, meanings):
        for c, features in candidates(row, m).items():
            x.append(features)
            y.append(int(c == row["intent"]))
    return numpy.array(x), y


def fit(x: numpy.ndarray, y: list[int], l2: float):
    """An L2 logistic regression (the knowledge base's softmax regression with two classes) over standardised
    features: (coefficients, intercepts, feature means, feature spreads)."""
    mean, spread = x.mean(axis=0), x.std(axis=0)
    spread[spread == 0] = 1.0
    z = (x - mean) / spread
    coefficients, intercepts = softmax.train(lambda w: z @ w, lambda error: z.T @ error, z.shape[1], y, 2,
                                             epochs=300, l2=l2)
    return coefficients, intercepts, mean, spread


def probability(model, features: list[float]) -> float:
    coefficients, intercepts, mean, spread = model
    return float(softmax.softmax(((numpy.array(features) - mean) / spread) @ coefficients + intercepts)[1])


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
            x, y = samples([rows[i] for i in inside], [meanings[i] for i in inside])
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
    x, y = samples(train, train_meanings)
    model = fit(x, y, l2)
    names = [*CANDIDATE_FEATURES, *evidence_of(train[0], train_meanings[0]).features()]
    weights = model[0][:, 1] - model[0][:, 0]  # the log-odds of "what was said", per standardised feature
    print(f"fitted on {len(train)} train utterances ({len(x)} candidates, {sum(y)} right), l2 {l2:g}; "
          f"weights: " + ", ".join(f"{name} {w:+.2f}" for name, w in zip(names, weights)))
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
