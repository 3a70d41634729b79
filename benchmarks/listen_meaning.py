"""The meaning classifier on text: fit its two parameters (leave-one-out on the training sentences) and measure it.

Usage: .venv/bin/python benchmarks/listen_meaning.py [--fit] [--test benchmarks/corpus/heldout_paraphrases.yaml]
--fit writes the softmax regression's weights (voicecoach/data/meaning-weights.npy) and its chosen L2 weight
(decision.yaml). The report compares, on the
test phrasings as clean transcripts, today's transcript rule (a command named at fuzzy similarity 77 or better, as
listening/recognizer.py reads Moonshine's text) with the meaning classifier and its cost-based acceptance.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from voicecoach.intents import command_of, normalise  # noqa: E402
from voicecoach.listening import meaning  # noqa: E402
from voicecoach.listening.recognizer import Recognizer  # noqa: E402

DECISION = ROOT / "voicecoach" / "data" / "decision.yaml"
WEIGHTS = ROOT / "voicecoach" / "data" / meaning.WEIGHTS
CORPUS = ROOT / "benchmarks" / "corpus"


def fit() -> tuple[float, numpy.ndarray]:
    """The softmax regression's L2 weight by five-fold cross-validated log loss on the training sentences, then the
    weights fitted on all of them. (Measured against nearest-neighbour scoring on the same folds: 70% accuracy and
    49 of listen_corpus.yaml's 291 chatter lines taken as commands at p >= 0.3, against 77% and none at 0.5.)"""
    from voicecoach.embedding import embed_cached
    classes = meaning.training_sentences()
    names = sorted(classes)
    sentences = [s for name in names for s in classes[name]]
    labels = numpy.array([names.index(name) for name in names for _ in classes[name]])
    vectors = embed_cached(sentences)
    folds = numpy.random.default_rng(0).integers(0, 5, len(labels))
    best = None
    for l2 in (1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3):
        losses, right = [], 0
        for f in range(5):
            weights = meaning.fit_softmax(vectors[folds != f], labels[folds != f], len(names), l2)
            p = meaning.MeaningModel(names, weights).probabilities(vectors[folds == f])
            losses += list(-numpy.log(p[numpy.arange(len(p)), labels[folds == f]]))
            right += int((p.argmax(1) == labels[folds == f]).sum())
        loss = float(numpy.mean(losses))
        print(f"l2 {l2:g}: cross-validated log loss {loss:.3f}, accuracy {right / len(labels):.1%}")
        if best is None or loss < best[0]:
            best = (loss, l2)
    assert best is not None
    print(f"chosen l2 {best[1]:g}; {len(sentences)} sentences, {len(names)} classes")
    return best[1], meaning.fit_softmax(vectors, labels, len(names), best[1])


def today(text: str) -> str | None:
    """What the shipped recognizer makes of a clear transcript that it reads itself (no grammar, no search)."""
    if Recognizer.is_number(text):
        return None
    intent, _ = command_of(text, 77.0)
    return intent


def report(model: meaning.MeaningModel, commands: list[tuple[str, str]], others: list[str], label: str) -> None:
    def ours(text: str) -> str | None:
        m = meaning.meaning_of(model.distribution(text))
        return m.intent if meaning.accepted(m) and not Recognizer.is_number(text) else None
    for name, rule in (("today's transcript rule", today), ("meaning classifier", ours)):
        got = [(rule(text), intent, text) for text, intent in commands]
        right = sum(g == i for g, i, _ in got)
        pain = [(g, i) for g, i, _ in got if i == "pain"]
        false = [(rule(text), text) for text in others]
        acted = [f for f in false if f[0] is not None]
        print(f"{label} / {name}: commands right {right}/{len(got)} = {right / max(len(got), 1):.1%}, "
              f"rejected {sum(g is None for g, _, _ in got)}, wrong {sum(g not in (None, i) for g, i, _ in got)}; "
              f"'it hurts' {sum(g == 'pain' for g, _ in pain)}/{len(pain)}; "
              f"false commands {len(acted)}/{len(others)} = {len(acted) / max(len(others), 1):.1%}")
        confusions: dict[tuple[str, str | None], int] = {}
        for g, i, _ in got:
            if g != i:
                confusions[(i, g)] = confusions.get((i, g), 0) + 1
        print("  confusions (said -> got): " + ", ".join(
            f"{i}->{g} {n}" for (i, g), n in sorted(confusions.items(), key=lambda x: -x[1])[:12]))
        print("  false: " + "; ".join(f"{t!r} as {g}" for g, t in acted[:8]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--test", type=Path, default=CORPUS / "heldout_paraphrases.yaml")
    args = parser.parse_args()
    if args.fit:
        l2, weights = fit()
        numpy.save(WEIGHTS, weights.astype(numpy.float32))
        DECISION.write_text(re.sub(r"l2: [0-9.e-]+", f"l2: {l2:g}", DECISION.read_text(), count=1))
    model = meaning.MeaningModel()
    listed = yaml.safe_load((CORPUS / "listen_corpus.yaml").read_text())
    chatter = [normalise(t) for kind in ("chatter", "tv", "numbers") for texts in listed.get(kind, {}).values()
               for t in texts or ()]
    report(model, [], chatter, "listen_corpus.yaml chatter, television and numbers (never trained on)")
    if args.test.exists():
        test = yaml.safe_load(args.test.read_text())
        commands = [(text, intent) for intent, texts in test["commands"].items() for text in texts]
        report(model, commands, test["not_commands"], f"{args.test.name} (held out: never seen by the fit)")


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script; no real home written
    with isolated_env():
        main()
