"""The session's typed names agree with the vocabulary the parsers read."""
from importlib import resources
from typing import get_args

import yaml

from voicecoach import intents
from voicecoach.session_events import UNPHRASED_INTENTS, IntentName


def test_intent_names_are_the_intents_yaml_defines_and_the_two_without_phrases():
    data = yaml.safe_load(resources.files("voicecoach.data").joinpath("intents.yaml").read_text("utf-8"))
    names = set(get_args(IntentName))
    assert len(names) == len(get_args(IntentName))
    assert names - UNPHRASED_INTENTS == set(data["intents"])
    assert not UNPHRASED_INTENTS & set(data["intents"])


def test_the_parsers_make_exactly_the_intents_the_session_knows():
    assert set(intents.INTENTS) == set(get_args(IntentName))
