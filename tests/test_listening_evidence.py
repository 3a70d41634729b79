"""The evidence record: every recognizer's scores of one utterance, with no decision in them."""
import math

import numpy
import pytest

from tests.test_moonshine import FixedTranscript
from voicecoach.listening.evidence import loudness_dbfs
from voicecoach.listening.recognizer import Recognizer


def tone(amplitude: float, seconds: float = 1.0) -> bytes:
    t = numpy.arange(int(16000 * seconds)) / 16000
    return (amplitude * 32767 * numpy.sin(2 * numpy.pi * 440 * t)).astype(numpy.int16).tobytes()


def test_loudness_is_the_rms_of_the_loud_frames():
    assert loudness_dbfs(tone(0.1)) == pytest.approx(-23.0, abs=0.2)  # a sine's RMS is 3 dB under its peak
    assert loudness_dbfs(tone(0.1) + bytes(32000)) == pytest.approx(-23.0, abs=0.2)  # silence after it not counted


def test_the_evidence_holds_every_search_and_no_decision():
    noise = numpy.random.default_rng(1).normal(0, 30, 16000).astype(numpy.int16).tobytes()
    fixed = FixedTranscript("Glenn Mann.", scores={"Glenn Mann.": -2.0}, tokens=4, logprob=-2.0,
                            found=[("Go on", -5.0, 3), ("Go back", -8.0, 3), ("Is it cold", -4.0, 4)])
    evidence = Recognizer(transcriber=fixed).evidence(noise, echo_kept_db=-12.0)
    assert (evidence.transcript, evidence.best_command, evidence.best_command_intent) == ("Glenn Mann.", "Go on", "resume")
    assert (evidence.best_command_fit, evidence.other_command_fit) == (-5.0, -8.0)  # not a command: not counted
    assert evidence.transcript_per_token == -0.5 and not evidence.transcript_is_number
    assert evidence.seconds == 1.0 and evidence.echo_kept_db == -12.0 and evidence.meaning == {}
    assert all(math.isfinite(value) for value in evidence.features().values())


def test_a_number_and_silence_are_evidence_too():
    evidence = Recognizer(transcriber=FixedTranscript("Twenty-one.")).evidence(bytes(16000))
    assert evidence.transcript_is_number and evidence.best_command is None and evidence.voiced_frames == 0
    assert not evidence.grammar_complete and all(math.isfinite(v) for v in evidence.features().values())
