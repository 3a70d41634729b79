"""The JSGF command grammar, compiled from intents.yaml: every spoken phrase, one optional politeness word either side."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable


from voicecoach.intents import normalise, number_words, vocabulary
from voicecoach.package_data import load_yaml


# JSGF prior of the number path (commands weigh 1); the dev split was tuned with this value. Even so the
# number path still wins some short commands ("next one" -> "two one").
NUMBER_WEIGHT = 0.0001


def _data(name: str) -> dict:
    return load_yaml(name) or {}


@dataclass(frozen=True)
class ListeningWords:
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    not_spoken: frozenset[str]


@lru_cache(maxsize=1)
def listening_words() -> ListeningWords:
    data = _data("listening.yaml")
    prefixes, suffixes = tuple(map(normalise, data["prefixes"])), tuple(map(normalise, data["suffixes"]))
    not_spoken = frozenset(map(normalise, data.get("not_spoken", [])))
    unknown = not_spoken - set(vocabulary().phrases)
    if unknown:
        raise ValueError(f"listening.yaml: not_spoken names no phrase of intents.yaml: {sorted(unknown)}")
    return ListeningWords(prefixes, suffixes, not_spoken)


def spoken_phrases() -> dict[str, str]:
    """The command phrases of the spoken grammar (phrase -> intent): intents.yaml minus the typed-only ones."""
    not_spoken = listening_words().not_spoken
    return {phrase: intent for phrase, intent in vocabulary().phrases.items() if phrase not in not_spoken}


@lru_cache(maxsize=1)
def extra_pronunciations() -> dict[str, str]:
    return {normalise(word): phones for word, phones in _data("pronunciations.yaml").items()}


def _alternatives(phrases: Iterable[str]) -> str:
    return " | ".join(sorted(set(phrases)))


def _prefix_tree(phrases: Iterable[str]) -> str:
    """The same alternatives with shared first words written once: "what (is the soleus | causes cramps)".
    The decoder then follows one "what" instead of one per sentence."""
    def tree(sentences: list[tuple[str, ...]]) -> str:
        groups: dict[str, list[tuple[str, ...]]] = {}
        for words in sentences:
            groups.setdefault(words[0], []).append(words[1:])
        branches = []
        for first, rests in sorted(groups.items()):
            longer = [rest for rest in rests if rest]
            if not longer:
                branches.append(first)
            else:
                branches.append(f"{first} [{tree(longer)}]" if len(longer) < len(rests) else f"{first} {tree(longer)}")
        return branches[0] if len(branches) == 1 else "(" + " | ".join(branches) + ")"
    return tree(sorted({tuple(p.split()) for p in phrases if p}))


def compile_jsgf(questions: Iterable[str] = ()) -> str:
    """JSGF text: [prefix] phrase [suffix] for every command phrase, whole question sentences, and a
    path of one or two number words for counting along (a path through it is no command)."""
    words = listening_words()
    lines = [
        "#JSGF V1.0;",
        "grammar voicecoach;",
        f"<prefix> = {_alternatives(words.prefixes)};",
        f"<suffix> = {_alternatives(words.suffixes)};",
        f"<command> = {_alternatives(spoken_phrases())};",
    ]
    branches = ["/1/ ([<prefix>] <command> [<suffix>])"]
    questions = sorted({normalise(q) for q in questions} - {""})
    if questions:
        lines.append(f"<question> = {_prefix_tree(questions)};")
        branches.append("/1/ ([<prefix>] <question> [<suffix>])")
    if number_words().every:
        lines.append(f"<number> = {_alternatives(sorted(number_words().every))};")
        branches.append(f"/{NUMBER_WEIGHT}/ (<number> [<number>])")
    top = " | ".join(branches)
    lines.append(f"public <utterance> = {top};")
    return "\n".join(lines) + "\n"


# A question often stops before its last phrase: "should I use heat or ice [on my calf]".
_CLAUSE_CUT = re.compile(r" (?:on|for|in|after|when|with|to|if|at|during|before|because|or not) ")


def shortened_questions(examples: Iterable[tuple[str, str]], topics_of) -> list[str]:
    """Each example question cut before a trailing phrase, kept when it still means its topic
    (topics_of(texts) gives the topic of each text)."""
    known = {normalise(text) for text, _ in examples}
    heads = {}
    for text, topic in examples:
        text = normalise(text)
        for cut in _CLAUSE_CUT.finditer(text):
            head = text[:cut.start()]
            if len(head.split()) >= 3 and head not in known:
                heads.setdefault(head, topic)
    candidates = sorted(heads)
    return [head for head, topic in zip(candidates, topics_of(candidates)) if topic == heads[head]]


def grammar_words(questions: Iterable[str] = ()) -> set[str]:
    words = listening_words()
    texts = [*spoken_phrases(), *words.prefixes, *words.suffixes, *number_words().every, *(normalise(q) for q in questions)]
    return {word for text in texts for word in text.split()}
