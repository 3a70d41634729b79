"""The meaning classifier: commands said in other words than intents.yaml's, chatter that holds command words."""
import numpy
import pytest

from tests.test_moonshine import FixedTranscript
from voicecoach.listening import meaning
from voicecoach.listening.recognizer import Recognizer
from voicecoach.ports import ListeningContext


@pytest.fixture(scope="module")
def model():
    return meaning.shared_model()


@pytest.mark.parametrize("text, intent", [("take me back a step", "back"), ("hang on a sec", "pause"),
                                          ("my calf really hurts", "pain"), ("you can carry on now", "resume")])
def test_a_command_in_other_words_is_that_command(model, text, intent):
    said = meaning.meaning_of(model.distribution(text))
    assert said.intent == intent and meaning.accepted(said), said


@pytest.mark.parametrize("text", ["we'll go back home next week", "the next bus stops at the end of the road",
                                  "is ice better than heat"])
def test_chatter_that_holds_command_words_means_nothing(model, text):
    assert not meaning.accepted(meaning.meaning_of(model.distribution(text)))


def test_an_intent_the_session_would_not_act_on_cannot_win():
    said = meaning.meaning_of({"back": 0.7, "resume": 0.2, "nothing": 0.1}, frozenset({"resume", "stop"}))
    assert said.intent == "resume" and said.probability == pytest.approx(2 / 3) and said.runner_up is None


def test_the_cost_table_asks_less_of_it_hurts_than_of_stop():
    assert meaning.needed_probability("pain") < 0.5 < meaning.needed_probability("stop")


def test_the_recognizer_acts_on_what_a_clear_transcript_means(model):
    noise = numpy.random.default_rng(1).normal(0, 30, 16000).astype(numpy.int16).tobytes()
    recognizer = Recognizer(transcriber=FixedTranscript("Take me back a step."))
    assert recognizer.recognize(noise).intent is None  # not a listed phrasing: the list alone misses it
    recognizer.meanings = model.distribution
    heard = recognizer.recognize(noise)
    assert (heard.intent, heard.extra["recognizer"]) == ("back", "moonshine"), heard
    recognizer.expect(ListeningContext("paused", frozenset({"resume", "stop", "pain"})))
    assert recognizer.recognize(noise).intent is None


def test_the_microphone_listener_hands_the_context_to_a_recognizer_built_later():
    import threading

    from tests.test_listening_mic import _Microphone
    from voicecoach.adapters.clock import MonotonicClock
    from voicecoach.listening.endpoint import FRAME_BYTES
    from voicecoach.listening.mic import MicListener

    told, built = [], threading.Event()

    class Recording:
        def expect(self, context):
            told.append(context)
            built.set()

        def recognize(self, pcm, audio_end=None):
            raise AssertionError("silence is not recognized")

    listener = MicListener(MonotonicClock(), recognizer_factory=Recording,
                           microphone_factory=lambda index: _Microphone(bytes(FRAME_BYTES * 10)))
    paused = ListeningContext("paused", frozenset({"resume", "stop"}), "Paused. Say resume when you are ready.")
    listener.expect(paused)  # before the models have loaded
    listener.start(lambda heard: None)
    built.wait(timeout=10)
    listener.stop()
    assert told == [paused]


def test_the_sessions_recognizer_acts_on_what_a_clear_transcript_means_unless_told_not_to():
    assert Recognizer.with_knowledge(transcribe=False).meanings is not None
    assert Recognizer.with_knowledge(transcribe=False, meanings=False).meanings is None
