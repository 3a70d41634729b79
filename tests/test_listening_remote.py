"""The recognizer in its own process: answers, the session's context, failures, a killed child, closing."""
from __future__ import annotations

import functools
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.fakes import EchoingRecognizer
from voicecoach.listening import RecognizerUnavailable
from voicecoach.listening.remote import NICENESS, RESTARTS, RecognizerProcess
from voicecoach.ports import ListeningContext


@pytest.fixture
def remote():
    process = RecognizerProcess(EchoingRecognizer)
    yield process
    process.close()


def test_it_answers_from_another_process_with_the_latest_context(remote):
    heard = remote.recognize(b"how long left", 12.5)
    assert (heard.text, heard.audio_end, heard.extra["acts_on"]) == ("how long left", 12.5, [])
    assert heard.extra["pid"] != os.getpid()
    assert heard.extra["niceness"] == min(19, os.nice(0) + NICENESS)  # the audio threads come first
    remote.expect(ListeningContext("paused", frozenset({"resume", "stop"}), "Paused."))
    assert remote.recognize(b"resume").extra["acts_on"] == ["resume", "stop"]


def test_one_failed_utterance_raises_and_listening_goes_on(remote):
    with pytest.raises(ValueError, match="this utterance broke it"):
        remote.recognize(b"fail")
    assert remote.recognize(b"print").text == "print"  # the child's stdout does not reach the replies
    remote.release_memory()
    assert remote.recognize(b"next").extra["released"] == 1


def test_an_utterance_abandoned_while_it_is_recognised_stops_and_the_next_is_heard(remote):
    """The mic's early guess whose speaker went on: abandon() from another thread ends its recognition."""
    decoding = ThreadPoolExecutor(max_workers=1)
    try:
        stale = decoding.submit(remote.recognize, b"until abandoned")
        while remote._recognizing is None:  # sent, and being recognised
            threading.Event().wait(0.01)
        remote.abandon()
        assert stale.result(timeout=10).extra["abandoned"]
    finally:
        decoding.shutdown(wait=False)
    assert remote.recognize(b"next").text == "next"  # a later utterance is not abandoned
    remote.abandon()  # nothing being recognised: nothing happens
    assert remote.recognize(b"resume").text == "resume"


def test_a_recognizer_that_cannot_be_built_says_why():
    with pytest.raises(RecognizerUnavailable, match="model is missing"):
        RecognizerProcess(functools.partial(EchoingRecognizer, "The model is missing."))


def test_a_killed_child_is_started_again_a_few_times_then_listening_gives_up(remote):
    first = remote.recognize(b"a").extra["pid"]
    with pytest.raises(RecognizerUnavailable, match="stopped"):
        remote.recognize(b"die")  # killed in the middle of the request: the pipe breaks
    second = remote.recognize(b"c")  # found dead before the request: started again
    assert second.text == "c" and second.extra["pid"] != first
    for _ in range(RESTARTS):
        with pytest.raises(RecognizerUnavailable, match="stopped"):
            remote.recognize(b"die")
    with pytest.raises(RecognizerUnavailable, match="keeps stopping"):
        remote.recognize(b"f")


def test_a_child_killed_from_outside_is_started_again(remote):
    first = remote.recognize(b"a").extra["pid"]
    os.kill(first, signal.SIGKILL)
    try:
        heard = remote.recognize(b"b")  # dead before the request, or dies under it: either way not lost for good
    except RecognizerUnavailable:
        heard = remote.recognize(b"b")
    assert heard.text == "b" and heard.extra["pid"] != first


def test_close_ends_the_child_and_later_requests_fail(remote):
    pid = remote.recognize(b"a").extra["pid"]
    remote.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(RecognizerUnavailable):
        remote.recognize(b"b")
