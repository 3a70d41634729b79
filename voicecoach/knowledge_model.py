"""The knowledge base as data (knowledge.yaml): topics with their answers, sources and example questions."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

from voicecoach.package_data import data_text

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


@lru_cache(maxsize=1)
def read_data() -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser, when present, is ten times faster
    return yaml.load(data_text("knowledge.yaml"), Loader=loader)


@lru_cache(maxsize=1)
def load() -> Knowledge:
    data = read_data()
    topics = {
        topic_id: Topic(topic_id, entry["answer"].strip(), entry["more"].strip(), entry["source"].strip(),
                        tuple(entry["examples"]))
        for topic_id, entry in data["topics"].items()
    }
    return Knowledge(data["source"].strip(), data["disclaimer"].strip(), data["out_of_scope"].strip(), topics)


def more(topic_id: str) -> str:
    """The longer "tell me more" answer for a topic id."""
    return load().topics[topic_id].more


def labelled_examples() -> list[tuple[str | None, str]]:
    """Each topic's examples with its id, then the out-of-scope examples with None: both classifiers learn from them."""
    examples = [(topic.id, example) for topic in load().topics.values() for example in topic.examples]
    return examples + [(None, example) for example in read_data()["out_of_scope_examples"]]
