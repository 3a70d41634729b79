"""What a clear transcript means: each intent's (and "nothing"'s) probability from its nearest training sentences."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy

from voicecoach.intents import normalise, vocabulary
from voicecoach.package_data import data_file, load_yaml

NOTHING = "nothing"
WEIGHTS = "meaning-weights.npy"


@dataclass(frozen=True)
class Meaning:
    """The likeliest intent of a text (None: it means no command), its probability, and the runner-up's."""
    intent: str | None
    probability: float
    runner_up: str | None
    runner_up_probability: float


def training_sentences() -> dict[str, list[str]]:
    """Class -> sentences: intents.yaml's phrases and data/meanings.yaml's paraphrases and chatter."""
    data = load_yaml("meanings.yaml")
    classes: dict[str, list[str]] = {name: [normalise(s) for s in sentences] for name, sentences in data.items()}
    for phrase, intent in vocabulary().phrases.items():
        classes.setdefault(intent, []).append(phrase)
    return {name: list(dict.fromkeys(sentences)) for name, sentences in classes.items()}


def fit_softmax(vectors: numpy.ndarray, labels: numpy.ndarray, classes: int, l2: float,
                steps: int = 1500, rate: float = 2.0) -> numpy.ndarray:
    """A softmax regression over sentence vectors (a bias column appended), fitted by full-batch gradient descent:
    rows (vector width + 1) x classes."""
    x = numpy.hstack([vectors, numpy.ones((len(vectors), 1), vectors.dtype)]).astype(numpy.float64)
    target = numpy.eye(classes)[labels]
    weights = numpy.zeros((x.shape[1], classes))
    for _ in range(steps):
        weights -= rate * (x.T @ (softmax(x @ weights) - target) / len(x) + l2 * weights)
    return weights


def softmax(z: numpy.ndarray) -> numpy.ndarray:
    z = numpy.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


class MeaningModel:
    """distribution(text) -> each class's probability, by a softmax regression over the package's sentence model
    (voicecoach/embedding.py); its weights are data/meaning-weights.npy, fitted by benchmarks/listen_meaning.py."""

    def __init__(self, names: list[str] | None = None, weights: numpy.ndarray | None = None):
        self.names = names if names is not None else sorted(training_sentences())
        if weights is None:
            with data_file(WEIGHTS).open("rb") as file:
                weights = numpy.load(file)
        self.weights = weights

    def probabilities(self, vectors: numpy.ndarray) -> numpy.ndarray:
        x = numpy.hstack([vectors, numpy.ones((len(vectors), 1), vectors.dtype)])
        return softmax(x @ self.weights)

    def distribution(self, text: str) -> dict[str, float]:
        """Each class's probability for the text ("nothing" included)."""
        from voicecoach.embedding import model
        cleaned = normalise(text)
        if not cleaned:
            return {NOTHING: 1.0}
        return dict(zip(self.names, map(float, self.probabilities(model().embed([cleaned]))[0])))


def meaning_of(distribution: dict[str, float], allowed: frozenset[str] | None = None) -> Meaning:
    """The likeliest class, with intents outside `allowed` (what the session would act on now) given no mass."""
    kept = {name: p for name, p in distribution.items()
            if name == NOTHING or allowed is None or name in allowed}
    total = sum(kept.values()) or 1.0
    ranked = sorted(kept.items(), key=lambda item: -item[1]) + [(NOTHING, 0.0)]
    (best, p), (second, q) = ranked[0], ranked[1]
    return Meaning(None if best == NOTHING else best, p / total, None if second == NOTHING else second, q / total)


@lru_cache(maxsize=1)
def shared_model() -> MeaningModel:
    return MeaningModel()


@lru_cache(maxsize=1)
def _costs() -> dict[str, dict[str, float]]:
    return load_yaml("decision.yaml")["costs"]


def needed_probability(intent: str) -> float:
    """The probability at which acting on `intent` costs less than ignoring it (data/decision.yaml's costs)."""
    cost = _costs().get(intent, _costs()["default"])
    return cost["spurious"] / (cost["spurious"] + cost["miss"])


def accepted(meaning: Meaning) -> bool:
    """Whether the meaning is worth acting on: a command whose probability beats its cost threshold."""
    return meaning.intent is not None and meaning.probability >= needed_probability(meaning.intent)
