"""The knowledge base's word index: tf-idf vectors of the examples and topics, and a classifier over them."""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from voicecoach import softmax
from voicecoach.intents import normalise
from voicecoach.knowledge_model import Knowledge
from voicecoach.knowledge_text import concepts, phrase_key, phrase_regex, stem, term_list

# Weight of a word the knowledge base has never seen, as a share of the rarest known word's.
UNKNOWN_WEIGHT = 0.75
# Weight of a pair of neighbouring words relative to a single word.
PAIR_WEIGHT = 0.3
# The classifier's L2 penalty and training passes (at index build; it has converged well before 150).
L2 = 0.002
EPOCHS = 150


@dataclass(frozen=True)
class WordIndex:
    stopwords: frozenset[str]
    synonyms: dict[str, str]
    phrases: dict[str, str]              # a phrase's phrase_key -> the concept words it stands for
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


def unit(weights: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    return {term: w / norm for term, w in weights.items()}


def tfidf(terms: Iterable[str], idf: dict[str, float], unknown_idf: float) -> dict[str, float]:
    return unit({t: n * idf.get(t, unknown_idf) * (PAIR_WEIGHT if " " in t else 1.0)
                 for t, n in Counter(terms).items()})


class SparseRows:
    """Rows of {term: weight} as flat arrays, multiplied by plain numpy indexing, not matrix products: threaded BLAS
    costs more than it saves at this size."""

    def __init__(self, rows: list[dict[str, float]], columns: dict[str, int]):
        self.row_of = np.repeat(np.arange(len(rows)), [len(row) for row in rows])
        self.column_of = np.array([columns[term] for row in rows for term in row])
        self.value = np.array([w for row in rows for w in row.values()])[:, None]
        self.row_starts = np.concatenate(([0], np.cumsum([len(row) for row in rows])[:-1]))
        self.by_column = np.argsort(self.column_of, kind="stable")
        self.column_starts = np.flatnonzero(np.diff(self.column_of[self.by_column], prepend=-1))

    def forward(self, coefficients: np.ndarray) -> np.ndarray:
        """rows @ coefficients"""
        return np.add.reduceat(coefficients[self.column_of] * self.value, self.row_starts)

    def backward(self, error: np.ndarray) -> np.ndarray:
        """rows.T @ error (every column appears in some row)"""
        return np.add.reduceat((error[self.row_of] * self.value)[self.by_column], self.column_starts)


def build_index(data: dict, knowledge: Knowledge, labelled: list[tuple[str | None, str]]) -> WordIndex:
    """The word index and word classifier of the knowledge base, from its data, topics and labelled examples."""
    matching = data["matching"]
    stopwords = frozenset(normalise(w) for w in matching["stopwords"])
    synonyms = {normalise(k): normalise(v) for k, v in matching["synonyms"].items()}
    phrases = {normalise(k): normalise(v) for k, v in matching["phrases"].items()}
    for kind, words in matching["out_of_scope_words"].items():
        for word in map(normalise, words):
            if " " in word:
                phrases[word] = kind
            else:
                for form in (word, stem(word), stem(word + "s")):  # headache, headaches -> headach
                    synonyms.setdefault(form, kind)
    phrase_pattern = (re.compile(r"\b(?:" + "|".join(map(phrase_regex, sorted(phrases, key=len, reverse=True)))
                                 + r")\b") if phrases else None)
    known_phrase_words = {w for p in phrases for w in p.split()}
    phrases = {phrase_key(p): concept for p, concept in phrases.items()}

    def terms(text: str) -> list[str]:
        return term_list(concepts(normalise(text), stopwords, synonyms, phrases, phrase_pattern))

    tokenised = [(topic_id, terms(example)) for topic_id, example in labelled]
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
    rows = [tfidf(words, idf, unknown_idf) for _, words in tokenised]
    columns = {term: i for i, term in enumerate(sorted({term for row in rows for term in row}))}
    sparse = SparseRows(rows, columns)
    coefficients, intercepts = softmax.train(sparse.forward, sparse.backward, len(columns),
                                             [classes.index(topic_id) for topic_id, _ in tokenised], len(classes),
                                             epochs=EPOCHS, l2=L2)
    return WordIndex(
        stopwords, synonyms, phrases, phrase_pattern, frozenset(known), tuple(sorted(known)), idf, unknown_idf,
        tuple((topic_id, row) for (topic_id, _), row in zip(tokenised, rows)),
        {topic_id: tfidf(words, idf, unknown_idf) for topic_id, words in topic_terms.items()},
        frozenset(matching["out_of_scope_words"]), frozenset(matching["in_scope_anchors"]),
        frozenset(matching["context_when_anchored"]), frozenset(matching["question_words"]),
        frozenset(term for term in idf if " " not in term), columns, classes, coefficients, intercepts,
    )
