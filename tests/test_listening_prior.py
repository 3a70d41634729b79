"""The session's context as a prior: the replies the coach's last line asked for need less evidence."""
import numpy
import pytest

from tests.test_moonshine import FixedTranscript
from voicecoach.intents import INTENTS
from voicecoach.listening import prior
from voicecoach.listening.recognizer import Recognizer
from voicecoach.package_data import lines
from voicecoach.ports import ListeningContext

EVERYTHING = frozenset(INTENTS)


@pytest.mark.parametrize("key, asked", [("paused", {"resume"}), ("already_paused", {"resume", "stop"}),
                                        ("paused_offer_stop", {"stop", "resume"}), ("tutorial_pause", {"pause"}),
                                        ("confirm_stop", {"stop", "resume"}), ("safety_again", {"repeat"}),
                                        ("routine_menu", set())])
def test_the_replies_a_line_asks_for_are_the_commands_after_its_say(key, asked):
    assert prior.asked_for(lines()[key], EVERYTHING) == asked


def test_only_replies_the_session_would_act_on_are_asked_for():
    assert prior.asked_for(lines()["already_paused"], frozenset({"resume", "pain"})) == {"resume"}


def test_one_reply_asked_for_gains_more_than_two_and_a_list_of_every_command_gains_nothing():
    one, two = prior.asked_for(lines()["paused"]), prior.asked_for(lines()["already_paused"])
    every = prior.asked_for(lines()["help"])
    assert prior.evidence_bonus("resume", one) > prior.evidence_bonus("resume", two) > 0
    assert prior.evidence_bonus("stop", one) == 0 and prior.evidence_bonus("resume", every) == 0


def test_a_word_heard_near_the_reply_the_coach_asked_for_is_that_reply():
    noise = numpy.random.default_rng(1).normal(0, 30, 16000).astype(numpy.int16).tobytes()
    # Moonshine writes "Renew." for a voice's "resume" and finds "resume" 4 nats less likely: too far without context.
    recognizer = Recognizer(transcriber=FixedTranscript("Renew.", fits={"resume": -7.0, "repeat": -14.0}, logprob=-3.0))
    recognizer.expect(ListeningContext("holding", EVERYTHING, "Fifteen."))
    assert recognizer.recognize(noise).intent is None
    recognizer.expect(ListeningContext("paused", EVERYTHING, lines()["paused"]))
    heard = recognizer.recognize(noise)
    assert (heard.intent, heard.extra["recognizer"]) == ("resume", "moonshine"), heard
    recognizer.expect(ListeningContext("paused", EVERYTHING - {"resume"}, lines()["paused"]))
    assert recognizer.recognize(noise).intent is None


def test_an_asked_for_reply_needs_to_stand_clear_of_another_command_to_win_on_the_prior():
    noise = numpy.random.default_rng(1).normal(0, 30, 16000).astype(numpy.int16).tobytes()
    # "this hurts", written "Listarts": "start" (resume) fits 3.7 nats behind it, "this hurts" 5.2 behind.
    recognizer = Recognizer(transcriber=FixedTranscript("Listarts", fits={"start": -4.7, "this hurts": -6.2},
                                                        logprob=-1.0))
    recognizer.expect(ListeningContext("paused", EVERYTHING, lines()["paused"]))
    assert recognizer.recognize(noise).intent != "resume"
