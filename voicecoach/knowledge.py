"""Knowledge base topics and matching typed or recognised questions to them."""
from __future__ import annotations

import math
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

import numpy as np
import pocketsphinx
import yaml
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from voicecoach import embedding
from voicecoach.intents import normalise
from voicecoach.package_data import data_text

# Below this score (0..1) a question is out of scope; tuned on the tuning sets in benchmarks/questions.
THRESHOLD = 0.20
# The same without the sentence model, when its package is not installed.
WORDS_ONLY_THRESHOLD = 0.23
# Knowledge-base phrases also match with their words inflected: "points your toes", "seized up".
INFLECTION_REGEX = r"(?:s|es|d|ed|ing|'s)?"
# Unknown words shorter than this are not spell-corrected ("sing" is not "using").
MIN_CORRECTABLE = 5
# Unknown words this long or longer may be two edits from a known word; shorter ones only one.
TWO_EDITS_FROM = 8
# Weight of a word the knowledge base has never seen, as a share of the rarest known word's.
UNKNOWN_WEIGHT = 0.75
# Weight of a pair of neighbouring words relative to a single word.
PAIR_WEIGHT = 0.3
# Share of the score from the best single example; the rest comes from the whole topic text.
EXAMPLE_WEIGHT = 0.6
# Out-of-scope examples' similarity is scaled by this: a topic's score is diluted by its whole text, theirs is not.
OOS_WEIGHT = 0.9
# Share of the score from the classifier's probability; the rest is the similarity above.
CLASSIFIER_WEIGHT = 0.5
# The classifier's L2 penalty and training passes (at index build; it has converged well before 150).
L2 = 0.002
EPOCHS = 150
# Share of the final score from a classifier over the examples' sentence embeddings (all-MiniLM-L6-v2): it
# catches questions that share no word with an example, which no synonym list covers.
SENTENCE_WEIGHT = 0.5
# Its L2 penalty, training passes and step size; dense rows of 384 numbers need a smaller step than word rows.
SENTENCE_L2 = 0.003
SENTENCE_EPOCHS = 300
SENTENCE_STEP = 0.5


SAFETY_TOPIC = "see-professional"  # its answer is also said when the user says it hurts


@dataclass(frozen=True)
class Topic:
    id: str
    answer: str
    more: str
    source: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Knowledge:
    source: str
    disclaimer: str
    out_of_scope: str
    topics: dict[str, Topic]

    @property
    def safety(self) -> str:
        """What the coach says when the user says it hurts."""
        return self.topics[SAFETY_TOPIC].answer


@dataclass(frozen=True)
class _Index:
    stopwords: frozenset[str]
    synonyms: dict[str, str]
    phrases: dict[str, str]              # a phrase's _phrase_key -> the concept words it stands for
    phrase_pattern: re.Pattern | None
    vocabulary: frozenset[str]           # every word left alone by spelling correction
    spellings: tuple[str, ...]           # every word a misspelling may be corrected to
    idf: dict[str, float]
    unknown_idf: float
    examples: tuple[tuple[str | None, dict[str, float]], ...]   # (topic id or None, unit tf-idf vector)
    topic_texts: dict[str, dict[str, float]]             # topic id -> unit tf-idf vector
    markers: frozenset[str]              # concept words that make a question out of scope...
    anchors: frozenset[str]              # ...unless it also has one of these
    context: frozenset[str]              # markers that are dropped from a question that has an anchor
    question_words: frozenset[str]       # concept words that alone make no question about a topic
    familiar: frozenset[str]             # every concept word of the examples and answers
    columns: dict[str, int]              # term -> row of the classifier's coefficients
    classes: tuple[str | None, ...]      # topic ids, then None for out of scope
    coefficients: np.ndarray             # terms x classes
    intercepts: np.ndarray               # classes


@lru_cache(maxsize=1)
def _read() -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser, when present, is ten times faster
    return yaml.load(data_text("knowledge.yaml"), Loader=loader)


@lru_cache(maxsize=1)
def load() -> Knowledge:
    data = _read()
    topics = {
        topic_id: Topic(topic_id, entry["answer"].strip(), entry["more"].strip(), entry["source"].strip(),
                        tuple(entry["examples"]))
        for topic_id, entry in data["topics"].items()
    }
    return Knowledge(data["source"].strip(), data["disclaimer"].strip(), data["out_of_scope"].strip(), topics)


def more(topic_id: str) -> str:
    """The longer "tell me more" answer for a topic id."""
    return load().topics[topic_id].more


def _stem(word: str) -> str:
    """A crude stem that gives a word's common inflections one form: "calf's" -> "calf", "running" -> "run"."""
    word = word.removesuffix("'s").removesuffix("'")
    if word.endswith("ies") and len(word) >= 5:
        return word[:-3] + "y"
    for suffix in ("ing", "ed", "es", "s"):
        stem = word[: -len(suffix)]
        if not word.endswith(suffix) or len(stem) < 4 or (suffix == "s" and stem.endswith(("s", "u", "i"))):
            continue
        if suffix in ("ing", "ed") and stem[-1] == stem[-2] and stem[-1] not in "lsz":
            stem = stem[:-1]  # running -> run, swimming -> swim
        return stem
    return word


def _phrase_key(text: str) -> str:
    """One key for a phrase's inflections: "points your toes" and "point your toes"."""
    return " ".join(map(_stem, text.split()))


def _phrase_regex(phrase: str) -> str:
    return r"\s+".join(re.escape(word) + INFLECTION_REGEX for word in phrase.split())


def _concepts(plain: str, stopwords: frozenset[str], synonyms: dict[str, str], phrases: dict[str, str],
              phrase_pattern: re.Pattern | None) -> list[str]:
    """Normalised text -> concept words: phrases replaced, stopwords dropped, synonyms and stems merged."""
    if phrase_pattern is not None:
        plain = phrase_pattern.sub(lambda m: phrases.get(_phrase_key(m.group(0)), m.group(0)), plain)
    words = []
    for raw in plain.split():
        word = synonyms.get(raw, raw)
        if word in stopwords:
            continue
        word = synonyms.get(_stem(word), _stem(word))
        if word not in stopwords:
            words.append(word)
    return words


def _terms(words: list[str]) -> list[str]:
    """Concept words and, marked with a space, each pair of neighbouring concept words."""
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


def _unit(weights: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    return {term: w / norm for term, w in weights.items()}


def _vector(terms: Iterable[str], idf: dict[str, float], unknown_idf: float) -> dict[str, float]:
    return _unit({t: n * idf.get(t, unknown_idf) * (PAIR_WEIGHT if " " in t else 1.0)
                  for t, n in Counter(terms).items()})


def _train(rows: list[dict[str, float]], labels: list[int], n_classes: int, columns: dict[str, int]):
    """(coefficients, intercepts) of a multinomial logistic regression, by gradient descent with momentum.
    Sparse rows and plain numpy indexing, not matrix products: threaded BLAS costs more than it saves at this size."""
    row_of = np.repeat(np.arange(len(rows)), [len(row) for row in rows])
    column_of = np.array([columns[term] for row in rows for term in row])
    value = np.array([w for row in rows for w in row.values()])[:, None]
    row_starts = np.concatenate(([0], np.cumsum([len(row) for row in rows])[:-1]))
    by_column = np.argsort(column_of, kind="stable")
    column_starts = np.flatnonzero(np.diff(column_of[by_column], prepend=-1))
    targets = np.eye(n_classes)[labels]
    coefficients, intercepts = np.zeros((len(columns), n_classes)), np.zeros(n_classes)
    coefficients_step, intercepts_step = np.zeros_like(coefficients), np.zeros_like(intercepts)
    for _ in range(EPOCHS):
        logits = np.add.reduceat(coefficients[column_of] * value, row_starts) + intercepts
        error = (_softmax(logits) - targets) / len(rows)
        gradient = np.add.reduceat((error[row_of] * value)[by_column], column_starts) + L2 * coefficients
        coefficients_step = 0.9 * coefficients_step - gradient
        intercepts_step = 0.9 * intercepts_step - error.sum(axis=0)
        coefficients += coefficients_step
        intercepts += intercepts_step
    return coefficients, intercepts


def _train_dense(rows: np.ndarray, labels: list[int], n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(coefficients, intercepts) of a multinomial logistic regression over dense rows, as _train does."""
    targets = np.eye(n_classes)[labels]
    coefficients, intercepts = np.zeros((rows.shape[1], n_classes)), np.zeros(n_classes)
    coefficients_step, intercepts_step = np.zeros_like(coefficients), np.zeros_like(intercepts)
    for _ in range(SENTENCE_EPOCHS):
        error = (_softmax(rows @ coefficients + intercepts) - targets) / len(rows)
        coefficients_step = 0.9 * coefficients_step - SENTENCE_STEP * (rows.T @ error + SENTENCE_L2 * coefficients)
        intercepts_step = 0.9 * intercepts_step - SENTENCE_STEP * error.sum(axis=0)
        coefficients += coefficients_step
        intercepts += intercepts_step
    return coefficients, intercepts


def _softmax(logits: np.ndarray) -> np.ndarray:
    odds = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return odds / odds.sum(axis=-1, keepdims=True)


@lru_cache(maxsize=1)
def _sentence_classifier() -> tuple[np.ndarray, np.ndarray] | None:
    """(coefficients, intercepts) over sentence embeddings, classes as _Index.classes; None without the model."""
    why = embedding.unavailable()
    if why is not None:
        print(f"voicecoach: {why}; until then questions are matched by their words alone", file=sys.stderr)
        return None
    labelled = _labelled_examples()
    vectors = embedding.embed_cached([example for _, example in labelled])
    classes = _index().classes
    return _train_dense(vectors.astype(np.float64), [classes.index(topic_id) for topic_id, _ in labelled],
                        len(classes))


def _labelled_examples() -> list[tuple[str | None, str]]:
    """Each topic's examples with its id, then the out-of-scope examples with None: both classifiers learn from them."""
    examples = [(topic.id, example) for topic in load().topics.values() for example in topic.examples]
    return examples + [(None, example) for example in _read()["out_of_scope_examples"]]


@lru_cache(maxsize=1)
def _index() -> _Index:
    data = _read()
    matching = data["matching"]
    stopwords = frozenset(normalise(w) for w in matching["stopwords"])
    synonyms = {normalise(k): normalise(v) for k, v in matching["synonyms"].items()}
    phrases = {normalise(k): normalise(v) for k, v in matching["phrases"].items()}
    for kind, words in matching["out_of_scope_words"].items():
        for word in map(normalise, words):
            if " " in word:
                phrases[word] = kind
            else:
                for form in (word, _stem(word), _stem(word + "s")):  # headache, headaches -> headach
                    synonyms.setdefault(form, kind)
    phrase_pattern = (re.compile(r"\b(?:" + "|".join(map(_phrase_regex, sorted(phrases, key=len, reverse=True)))
                                 + r")\b") if phrases else None)
    known_phrase_words = {w for p in phrases for w in p.split()}
    phrases = {_phrase_key(p): concept for p, concept in phrases.items()}
    knowledge = load()

    def terms(text: str) -> list[str]:
        return _terms(_concepts(normalise(text), stopwords, synonyms, phrases, phrase_pattern))

    tokenised = [(topic_id, terms(example)) for topic_id, example in _labelled_examples()]
    topic_terms = {topic.id: terms(" ".join(topic.examples + (topic.answer, topic.more)))
                   for topic in knowledge.topics.values()}
    documents = [set(words) for _, words in tokenised] + [set(words) for words in topic_terms.values()]
    frequency = Counter(term for doc in documents for term in doc)
    count = len(documents)
    idf = {term: math.log((count + 1) / (df + 1)) + 1 for term, df in frequency.items()}
    unknown_idf = UNKNOWN_WEIGHT * (math.log(count + 1) + 1)
    texts = [e for t in knowledge.topics.values() for e in t.examples + (t.answer, t.more)]
    texts += data["out_of_scope_examples"]
    known = {w for text in texts for w in normalise(text).split()}
    known |= stopwords | set(synonyms) | known_phrase_words
    classes = (*knowledge.topics, None)
    rows = [_vector(words, idf, unknown_idf) for _, words in tokenised]
    columns = {term: i for i, term in enumerate(sorted({term for row in rows for term in row}))}
    coefficients, intercepts = _train(rows, [classes.index(topic_id) for topic_id, _ in tokenised], len(classes),
                                      columns)
    return _Index(
        stopwords, synonyms, phrases, phrase_pattern, frozenset(known), tuple(sorted(known)), idf, unknown_idf,
        tuple((topic_id, row) for (topic_id, _), row in zip(tokenised, rows)),
        {topic_id: _vector(words, idf, unknown_idf) for topic_id, words in topic_terms.items()},
        frozenset(matching["out_of_scope_words"]), frozenset(matching["in_scope_anchors"]),
        frozenset(matching["context_when_anchored"]), frozenset(matching["question_words"]),
        frozenset(term for term in idf if " " not in term), columns, classes, coefficients, intercepts,
    )


class _WordHashes:
    """A set of words kept as their sorted 64-bit hashes: 1 MB where a set of the strings takes 28 MB."""

    def __init__(self, words: Iterable[str]):
        self.hashes = np.unique(np.fromiter((hash(word) for word in words), np.int64))

    def __contains__(self, word: str) -> bool:
        key = hash(word)
        at = int(np.searchsorted(self.hashes, key))
        return at < len(self.hashes) and self.hashes[at] == key


@lru_cache(maxsize=1)
def _english_words() -> _WordHashes:
    """Every word in the speech recogniser's English pronouncing dictionary (134,000 words, read in about 60 ms)."""
    path = os.path.join(pocketsphinx.get_model_path(), "en-us", "cmudict-en-us.dict")
    with open(path, encoding="utf-8") as lines:
        return _WordHashes(line.split(" ", 1)[0] for line in lines)


@lru_cache(maxsize=4096)
def _corrected(word: str) -> str:
    """A misspelt word as the knowledge base's nearest word; a real English word ("pause", "child") as it is."""
    index = _index()
    if word in index.vocabulary or len(word) < MIN_CORRECTABLE or word in _english_words():
        return word
    edits = 2 if len(word) >= TWO_EDITS_FROM else 1
    best = process.extractOne(word, index.spellings, scorer=DamerauLevenshtein.distance, score_cutoff=edits)
    return best[0] if best else word


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(b) < len(a):
        a, b = b, a
    return sum(w * b.get(term, 0.0) for term, w in a.items())


def _unfamiliar_share(plain: str, words: list[str], index: _Index) -> float:
    """The share of a question's concept words that are real English words the knowledge base never uses:
    "how long do I hold the reset button on my router" is about something else."""
    english = _english_words()
    from_english = {concept for raw in plain.split() if raw in english
                    for concept in _concepts(raw, index.stopwords, index.synonyms, index.phrases, None)}
    return sum(word not in index.familiar and word in from_english for word in words) / len(words)


def scores(text: str, vector: np.ndarray | None = None) -> dict[str | None, float]:
    """Each topic's score for the question, 0..1, and under key None how out of scope it looks: the word-based
    score blended with the sentence classifier's probability. `vector` is the question's embedding, if known."""
    best = _word_scores(text)
    classifier = _sentence_classifier()
    if classifier is None or not text.strip():
        return best
    if vector is None:
        vector = embedding.model().embed([text])[0]
    probabilities = _softmax(vector @ classifier[0] + classifier[1])
    for topic_id, probability in zip(_index().classes, probabilities):
        best[topic_id] = SENTENCE_WEIGHT * float(probability) + (1 - SENTENCE_WEIGHT) * best[topic_id]
    return best


def _word_scores(text: str) -> dict[str | None, float]:
    """Each topic's score and the out-of-scope score from the question's words alone: a classifier's
    probability (trained on the examples) blended with the similarity to the closest example and topic text."""
    index = _index()
    plain = " ".join(_corrected(word) for word in normalise(text).split())
    words = _concepts(plain, index.stopwords, index.synonyms, index.phrases, index.phrase_pattern)
    best: dict[str | None, float] = {topic_id: 0.0 for topic_id in index.topic_texts}
    best[None] = 0.0
    if not words:
        return best
    anchored = bool(index.anchors.intersection(words))
    if anchored:
        words = [word for word in words if word not in index.context]
    elif index.markers.intersection(words) or index.question_words.issuperset(words):
        best[None] = 1.0
        return best
    terms = _terms(words)
    query = _vector(terms, index.idf, index.unknown_idf)
    for topic_id, vector in index.examples:
        best[topic_id] = max(best[topic_id], _cosine(query, vector) * (OOS_WEIGHT if topic_id is None else 1.0))
    for topic_id, vector in index.topic_texts.items():
        best[topic_id] = EXAMPLE_WEIGHT * best[topic_id] + (1 - EXAMPLE_WEIGHT) * _cosine(query, vector)
    logits = index.intercepts.copy()
    for term, weight in query.items():
        if term in index.columns:
            logits += weight * index.coefficients[index.columns[term]]
    for topic_id, probability in zip(index.classes, _softmax(logits)):
        best[topic_id] = CLASSIFIER_WEIGHT * float(probability) + (1 - CLASSIFIER_WEIGHT) * best[topic_id]
    if not anchored:
        unfamiliar = _unfamiliar_share(plain, words, index)
        for topic_id in index.topic_texts:
            best[topic_id] *= 1 - unfamiliar
    return best


def decide(ranked: dict[str, float], outside: float, threshold: float | None = None) -> str | None:
    """The best topic if its score reaches the threshold and beats the out-of-scope score, else None."""
    if threshold is None:
        threshold = THRESHOLD if _sentence_classifier() is not None else WORDS_ONLY_THRESHOLD
    topic_id = max(ranked, key=ranked.get)
    return topic_id if ranked[topic_id] >= threshold and ranked[topic_id] > outside else None


def match_question(text: str, vector: np.ndarray | None = None) -> tuple[str | None, float]:
    """(topic id, its score 0..1), or (None, how sure 0..1 that the question is out of scope)."""
    ranked = scores(text, vector)
    outside = ranked.pop(None)
    topic_id = decide(ranked, outside)
    if topic_id is not None:
        return topic_id, round(ranked[topic_id], 3)
    return None, round(max(outside, 1 - max(ranked.values())), 3)


def topics_of(texts: list[str]) -> list[str | None]:
    """The topic of each of a fixed list of texts, their embeddings kept in the user's cache."""
    vectors = embedding.embed_cached(texts) if _sentence_classifier() is not None else [None] * len(texts)
    return [match_question(text, vector)[0] for text, vector in zip(texts, vectors)]


def answer(question: str) -> dict:
    """The answer record for one question: question, topic (id or None), answer text, confidence."""
    topic_id, confidence = match_question(question)
    knowledge = load()
    text = knowledge.topics[topic_id].answer if topic_id else knowledge.out_of_scope
    return {"question": question, "topic": topic_id, "answer": text, "confidence": confidence}
