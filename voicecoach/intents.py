"""Intent names and the text-to-intent parser shared by typed input and free-text recognizers."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Mapping

from rapidfuzz import fuzz, process

from voicecoach.package_data import load_yaml
from voicecoach.ports import Heard

INTENTS = ("next", "back", "repeat", "pause", "resume", "stop", "slower", "faster",
           "louder", "quieter", "time_left", "where", "help", "more_help", "pain", "more", "add_ten_seconds",
           "which_side", "add_thirty_seconds", "other_side", "count_each", "count_fives", "count_none", "brief", "detailed",
           "change_routine", "choose_routine", "progress", "ask")

# Safety and control: typed, these go ahead of the questions still waiting for the question matcher.
URGENT_INTENTS = frozenset({"stop", "pause", "pain"})

# Below this similarity (0..100) a typed line is not taken as a command.
FUZZY_CUTOFF = 86
# A spoken miss whose transcript is at least this similar to a command was likely said to the coach: it gets the
# "not understood" tone. None of the corpus's 185 chatter and television lines comes this close to a command
# (benchmarks/corpus/listen_corpus.yaml, as text); at 65, four do ("hello there", "be careful"...).
ADDRESSED_CUTOFF = 70


@dataclass(frozen=True)
class Vocabulary:
    phrases: dict[str, str]   # normalised phrase -> intent
    fillers: tuple[str, ...]  # politeness words, longest first


@dataclass(frozen=True)
class NumberWords:
    ones: tuple[str, ...]  # zero to nineteen
    tens: tuple[str, ...]  # twenty to ninety
    every: frozenset[str]  # these and the larger ones


@lru_cache(maxsize=1)
def _data() -> dict:
    return load_yaml("intents.yaml")


@lru_cache(maxsize=1)
def number_words() -> NumberWords:
    numbers = _data()["numbers"]
    ones, tens = tuple(numbers["ones"]), tuple(numbers["tens"])
    return NumberWords(ones, tens, frozenset(ones + tens + tuple(numbers["larger"])))


def normalise(text: str) -> str:
    """Lower case, words and apostrophes only, numbers below 100 spelled: Moonshine writes "Give me 30 more
    seconds", which was "give me ten more seconds" to the fuzzy match."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    text = re.sub(r"\b([0-9]{1,2})(s?)\b", lambda number: spelled_number(int(number[1])) + number[2], text)  # 5s: fives
    return " ".join(text.split())


def spelled_number(n: int) -> str:
    ones, tens = number_words().ones, number_words().tens
    if n < 20:
        return ones[n]
    return tens[n // 10 - 2] + (f" {ones[n % 10]}" if n % 10 else "")


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    data = _data()
    phrases: dict[str, str] = {}
    for intent, entry in data["intents"].items():
        if intent not in INTENTS:
            raise ValueError(f"intents.yaml: unknown intent {intent!r}")
        for phrase in entry["phrases"]:
            phrases[normalise(phrase)] = intent
    fillers = tuple(sorted((normalise(f) for f in data.get("fillers", [])), key=len, reverse=True))
    return Vocabulary(phrases, fillers)


def without_fillers(text: str, fillers: tuple[str, ...]) -> list[str]:
    """The text, then every text left by peeling politeness words off its ends, fewest peeled first: "hey go on
    then" gives "go on then" (resume) before "go on" (next)."""
    found = level = [text]
    while level:
        level = list(dict.fromkeys(peeled for t in level for peeled in _peeled_once(t, fillers) if peeled not in found))
        found = found + level
    return found


def _peeled_once(text: str, fillers: tuple[str, ...]) -> list[str]:
    front = next((text[len(f) + 1:] for f in fillers if text.startswith(f + " ")), None)
    back = next((text[:-len(f) - 1] for f in fillers if text.endswith(" " + f)), None)
    return [t for t in (front, back) if t is not None]


def command_of(text: str, cutoff: float = FUZZY_CUTOFF) -> tuple[str | None, float]:
    """The command a line of text names, with a confidence 0..1; (None, 0) if none. `cutoff` is the least fuzzy
    similarity (0..100) to a phrase that still counts."""
    plain = normalise(text)
    if plain.replace(" ", "_") in INTENTS and plain != "ask":
        return plain.replace(" ", "_"), 1.0
    return _lookup(plain, vocabulary().phrases, cutoff)


def _lookup(plain: str, table: Mapping[str, str], cutoff: float = FUZZY_CUTOFF) -> tuple[str | None, float]:
    """table's value for the normalised text, with or without politeness words at its ends, else for the
    closest key (fuzzily, without them); (None, 0) if none is close enough."""
    fillers = vocabulary().fillers
    candidates = without_fillers(plain, fillers)
    for candidate in candidates:
        if candidate in table:
            return table[candidate], 1.0
    core = candidates[-1]
    if not core or core in fillers:
        return None, 0.0
    best = process.extractOne(core, table.keys(), scorer=fuzz.ratio, score_cutoff=cutoff)
    if best is None or any(not re.search(rf"\b{number}", best[0]) for number in numbers_in(core)):
        return None, 0.0  # a number the phrase lacks: "forty volume" is not "more volume", "add twenty" not "add ten"
    return table[best[0]], best[1] / 100


def numbers_in(text: str) -> set[str]:
    """The number words in the text, but "one", which often stands for "a": "wait one second"."""
    return set(text.split()) & number_words().every - {"one"}


QuestionMatcher = Callable[[str], "tuple[str | None, float]"]


def choice_of(text: str, choices: Mapping[str, str]) -> tuple[str | None, float]:
    """The choice (value of `choices`, keyed by spoken name) a line names, matched like commands; (None, 0) if none."""
    return _lookup(normalise(text), {normalise(name): value for name, value in choices.items()})


def parse(text: str, questions: QuestionMatcher | None = None, audio_end: float | None = None,
          choices: Mapping[str, str] | None = None) -> Heard:
    """Turn typed or recognized text into a Heard: a command, a routine's name (`choose_routine` with the
    routine's id as topic), a question (`ask` with topic), or nothing."""
    intent, confidence = command_of(text)
    if intent is None and choices:
        routine, confidence = choice_of(text, choices)
        if routine is not None:
            return Heard(text, "choose_routine", routine, confidence, audio_end)
    if intent is None and questions is not None and normalise(text):
        topic, confidence = questions(text)
        return Heard(text, "ask", topic, confidence, audio_end)
    return Heard(text, intent, None, confidence, audio_end)


def likely_addressed(heard: Heard) -> bool:
    """A spoken input understood as nothing that was still probably said to the coach: the grammar almost accepted
    it, or its transcript comes close to a command. Not the coach's own voice."""
    if heard.extra.get("echo"):
        return False
    if heard.extra.get("near_miss"):
        return True
    transcript = heard.extra.get("transcript") or ""
    return bool(normalise(transcript)) and command_of(transcript, ADDRESSED_CUTOFF)[0] is not None
