"""pocketsphinx's searches beside Moonshine's: the same evidence, searches nobody waits for, a killed child."""
from __future__ import annotations

import math
import os
import signal

import pytest

from tests.test_listening import speech
from voicecoach.listening.sphinx import GrammarProcess, GrammarSearch

QUESTIONS = ["should i use heat or ice"]


@pytest.fixture(scope="module")
def searches():
    process = GrammarProcess(QUESTIONS)
    yield GrammarSearch(QUESTIONS), process
    process.close()


def pcm(tmp_path, text):
    return speech(tmp_path, text).read_bytes()[44:]


def same(evidence, expected):
    """The same evidence, but for a decoder's slight memory of the utterance before (about 1% of the gap)."""
    return {**evidence, "gap": pytest.approx(evidence["gap"], rel=0.05)} == expected


def test_a_search_begun_beside_the_transcription_gives_the_same_evidence_as_one_made_here(tmp_path, searches):
    here, beside = searches
    said = pcm(tmp_path, "how long left")
    beside.begin(said)
    assert beside.scores(said) == here.scores(said)
    assert beside.question_texts == here.question_texts
    assert beside.alignment_gap(said, "how long left", None) == here.alignment_gap(said, "how long left", None)
    assert beside.lookup_word("aardvark") is None and beside.lookup_word("pause") == here.lookup_word("pause")


def test_a_search_nobody_asked_for_is_dropped_and_the_next_answer_is_its_own(tmp_path, searches):
    here, beside = searches
    first, second = pcm(tmp_path, "pause"), pcm(tmp_path, "should i use heat or ice")
    beside.begin(first)  # Moonshine understood this one: its search is never asked for
    beside.begin(second)
    assert same(beside.scores(second), here.scores(second))
    assert same(beside.scores(first), here.scores(first))  # asked for afresh, not the begun one


def test_a_killed_child_is_started_again(tmp_path, searches):
    here, beside = searches
    said = pcm(tmp_path, "next")
    os.kill(beside._child.pid, signal.SIGKILL)
    beside._child.wait()
    assert same(beside.scores(said), here.scores(said))


def test_a_search_that_a_newer_one_follows_as_it_runs_stops_before_its_phone_loop(tmp_path, searches):
    here, _ = searches
    said = pcm(tmp_path, "pause")
    full = here.scores(said)
    here.superseded = lambda: True
    try:
        stopped = here.scores(said)
    finally:
        here.superseded = lambda: False
    assert stopped["text"] == full["text"] == "pause"
    assert math.isfinite(full["gap"]) and stopped["gap"] == math.inf  # unsearched: its answer is not wanted
