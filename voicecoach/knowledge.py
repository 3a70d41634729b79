"""Knowledge base topics and matching typed or recognised questions to them."""
from __future__ import annotations

import sys
from functools import lru_cache
from typing import Mapping

import numpy as np

from voicecoach import embedding, softmax
from voicecoach.intents import normalise
from voicecoach.knowledge_index import WordIndex, build_index, tfidf
from voicecoach.knowledge_model import (  # noqa: F401  re-exported: the knowledge base as data
    SAFETY_TOPIC, Knowledge, Topic, labelled_examples, load, more, read_data,
)
from voicecoach.knowledge_text import concepts, correction, english_words, term_list

# Below this score (0..1) a question is out of scope; tuned on the tuning sets in benchmarks/questions.
THRESHOLD = 0.20
# The same without the sentence model, when its package is not installed.
WORDS_ONLY_THRESHOLD = 0.23
# Share of the score from the best single example; the rest comes from the whole topic text.
EXAMPLE_WEIGHT = 0.6
# Out-of-scope examples' similarity is scaled by this: a topic's score is diluted by its whole text, theirs is not.
OOS_WEIGHT = 0.9
# Share of the score from the classifier's probability; the rest is the similarity above.
CLASSIFIER_WEIGHT = 0.5
# Share of the final score from a classifier over the examples' sentence embeddings (all-MiniLM-L6-v2): it
# catches questions that share no word with an example, which no synonym list covers.
SENTENCE_WEIGHT = 0.5
# Its L2 penalty, training passes and step size; dense rows of 384 numbers need a smaller step than word rows.
SENTENCE_L2 = 0.003
SENTENCE_EPOCHS = 300
SENTENCE_STEP = 0.5


@lru_cache(maxsize=1)
def _sentence_classifier() -> tuple[np.ndarray, np.ndarray] | None:
    """(coefficients, intercepts) over sentence embeddings, classes as WordIndex.classes; None without the model."""
    why = embedding.unavailable()
    if why is not None:
        print(f"voicecoach: {why}; until then questions are matched by their words alone", file=sys.stderr)
        return None
    labelled = labelled_examples()
    vectors = embedding.embed_cached([example for _, example in labelled])
    classes = _index().classes
    rows = vectors.astype(np.float64)
    return softmax.train(lambda coefficients: rows @ coefficients, lambda error: rows.T @ error, rows.shape[1],
                         [classes.index(topic_id) for topic_id, _ in labelled], len(classes),
                         epochs=SENTENCE_EPOCHS, l2=SENTENCE_L2, step=SENTENCE_STEP)


@lru_cache(maxsize=1)
def _index() -> WordIndex:
    return build_index(read_data(), load(), labelled_examples())


@lru_cache(maxsize=4096)
def _corrected(word: str) -> str:
    """A misspelt word as the knowledge base's nearest word; a real English word ("pause", "child") as it is."""
    index = _index()
    return correction(word, index.vocabulary, index.spellings)


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(b) < len(a):
        a, b = b, a
    return sum(w * b.get(term, 0.0) for term, w in a.items())


def _unfamiliar_share(plain: str, words: list[str], index: WordIndex) -> float:
    """The share of a question's concept words that are real English words the knowledge base never uses:
    "how long do I hold the reset button on my router" is about something else."""
    english = english_words()
    from_english = {concept for raw in plain.split() if raw in english
                    for concept in concepts(raw, index.stopwords, index.synonyms, index.phrases, None)}
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
    probabilities = softmax.softmax(vector @ classifier[0] + classifier[1])
    for topic_id, probability in zip(_index().classes, probabilities):
        best[topic_id] = SENTENCE_WEIGHT * float(probability) + (1 - SENTENCE_WEIGHT) * best[topic_id]
    return best


def _word_scores(text: str) -> dict[str | None, float]:
    """Each topic's score and the out-of-scope score from the question's words alone: a classifier's
    probability (trained on the examples) blended with the similarity to the closest example and topic text."""
    index = _index()
    plain = " ".join(_corrected(word) for word in normalise(text).split())
    words = concepts(plain, index.stopwords, index.synonyms, index.phrases, index.phrase_pattern)
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
    terms = term_list(words)
    query = tfidf(terms, index.idf, index.unknown_idf)
    for topic_id, vector in index.examples:
        best[topic_id] = max(best[topic_id], _cosine(query, vector) * (OOS_WEIGHT if topic_id is None else 1.0))
    for topic_id, vector in index.topic_texts.items():
        best[topic_id] = EXAMPLE_WEIGHT * best[topic_id] + (1 - EXAMPLE_WEIGHT) * _cosine(query, vector)
    logits = index.intercepts.copy()
    for term, weight in query.items():
        if term in index.columns:
            logits += weight * index.coefficients[index.columns[term]]
    for topic_id, probability in zip(index.classes, softmax.softmax(logits)):
        best[topic_id] = CLASSIFIER_WEIGHT * float(probability) + (1 - CLASSIFIER_WEIGHT) * best[topic_id]
    if not anchored:
        unfamiliar = _unfamiliar_share(plain, words, index)
        for topic_id in index.topic_texts:
            best[topic_id] *= 1 - unfamiliar
    return best


def decide(ranked: Mapping[str | None, float], outside: float, threshold: float | None = None) -> str | None:
    """The best topic if its score reaches the threshold and beats the out-of-scope score, else None. `ranked` is
    scores() without its None entry (typed as scores() gives it)."""
    if threshold is None:
        threshold = THRESHOLD if _sentence_classifier() is not None else WORDS_ONLY_THRESHOLD
    topic_id = max(ranked, key=ranked.__getitem__)
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
