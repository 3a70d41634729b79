"""A question's words as the knowledge base's concepts: stems, phrases, synonyms, and misspellings corrected."""
from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Iterable

import numpy as np
import pocketsphinx
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

# Knowledge-base phrases also match with their words inflected: "points your toes", "seized up".
INFLECTION_REGEX = r"(?:s|es|d|ed|ing|'s)?"
# Unknown words shorter than this are not spell-corrected ("sing" is not "using").
MIN_CORRECTABLE = 5
# Unknown words this long or longer may be two edits from a known word; shorter ones only one.
TWO_EDITS_FROM = 8


def stem(word: str) -> str:
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


def phrase_key(text: str) -> str:
    """One key for a phrase's inflections: "points your toes" and "point your toes"."""
    return " ".join(map(stem, text.split()))


def phrase_regex(phrase: str) -> str:
    return r"\s+".join(re.escape(word) + INFLECTION_REGEX for word in phrase.split())


def concepts(plain: str, stopwords: frozenset[str], synonyms: dict[str, str], phrases: dict[str, str],
              phrase_pattern: re.Pattern | None) -> list[str]:
    """Normalised text -> concept words: phrases replaced, stopwords dropped, synonyms and stems merged."""
    if phrase_pattern is not None:
        plain = phrase_pattern.sub(lambda m: phrases.get(phrase_key(m.group(0)), m.group(0)), plain)
    words = []
    for raw in plain.split():
        word = synonyms.get(raw, raw)
        if word in stopwords:
            continue
        word = synonyms.get(stem(word), stem(word))
        if word not in stopwords:
            words.append(word)
    return words


def term_list(words: list[str]) -> list[str]:
    """Concept words and, marked with a space, each pair of neighbouring concept words."""
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


class WordHashes:
    """A set of words kept as their sorted 64-bit hashes: 1 MB where a set of the strings takes 28 MB."""

    def __init__(self, words: Iterable[str]):
        self.hashes = np.unique(np.fromiter((hash(word) for word in words), np.int64))

    def __contains__(self, word: str) -> bool:
        key = hash(word)
        at = int(np.searchsorted(self.hashes, key))
        return at < len(self.hashes) and self.hashes[at] == key


@lru_cache(maxsize=1)
def english_words() -> WordHashes:
    """Every word in the speech recognizer's English pronouncing dictionary (134,000 words, read in about 60 ms)."""
    path = os.path.join(pocketsphinx.get_model_path(), "en-us", "cmudict-en-us.dict")
    with open(path, encoding="utf-8") as lines:
        return WordHashes(line.split(" ", 1)[0] for line in lines)


def correction(word: str, vocabulary: frozenset[str], spellings: tuple[str, ...]) -> str:
    """A misspelt word as the nearest of `spellings`; a word of `vocabulary` or a real English word ("pause",
    "child") as it is."""
    if word in vocabulary or len(word) < MIN_CORRECTABLE or word in english_words():
        return word
    edits = 2 if len(word) >= TWO_EDITS_FROM else 1
    best = process.extractOne(word, spellings, scorer=DamerauLevenshtein.distance, score_cutoff=edits)
    return best[0] if best else word
