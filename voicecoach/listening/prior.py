"""The session's context as a prior: the replies the coach's last line asked for need less evidence."""
from __future__ import annotations

import math
import re
from functools import lru_cache

from voicecoach.intents import normalise, vocabulary
from voicecoach.package_data import load_yaml

_SAY = re.compile(r"\bsay(?:ing)?\b:?\s+(.*?)(?:[.!?;]|$)", re.IGNORECASE)
_ITEMS = re.compile(r",|\bor\b|\bsay(?:ing)?\b", re.IGNORECASE)


def asked_for(line: str, acts_on: frozenset[str] | None = None) -> frozenset[str]:
    """The intents the line asks the user to say ("Say resume to carry on, or stop to finish": resume and stop),
    among those the session would act on now: each item after a "say", to the sentence's end, that begins with
    one of intents.yaml's phrases (the longest that fits)."""
    phrases = sorted(vocabulary().phrases.items(), key=lambda item: -len(item[0]))
    asked = set()
    for said in _SAY.finditer(line):
        for item in _ITEMS.split(said.group(1)):
            words = normalise(item)
            intent = next((name for phrase, name in phrases if words == phrase or words.startswith(phrase + " ")), None)
            if intent is not None and (acts_on is None or intent in acts_on):
                asked.add(intent)
    return frozenset(asked)


@lru_cache(maxsize=1)
def _shares() -> tuple[float, dict[str, float]]:
    asked = load_yaml("decision.yaml")["asked"]
    return float(asked["share"]), {intent: float(share) for intent, share in asked["tuned_share"].items()}


def evidence_bonus(intent: str | None, asked: frozenset[str]) -> float:
    """How many nats less a sentence of `intent` may trail Moonshine's transcript by, given what the coach asked
    for (data/decision.yaml's `asked`): the log ratio of its prior now to its share where the margins were tuned."""
    if intent is None or intent not in asked:
        return 0.0
    share, tuned = _shares()
    if intent not in tuned:  # not among the tuning splits' commands: no share to compare with
        return 0.0
    return max(0.0, math.log(share / len(asked) / tuned[intent]))
