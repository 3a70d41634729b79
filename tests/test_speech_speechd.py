"""The Speech Dispatcher speaker, for real, through a private PulseAudio (speech-dispatcher autospawns)."""
from __future__ import annotations

import time

import pytest

from tests.harness import Events, Recorder, onsets
from voicecoach.adapters.clock import MonotonicClock
from voicecoach.config import Settings
from voicecoach.speech import SpeechUnavailable
from voicecoach.speech import speechd_speaker
from voicecoach.speech.clips import RATE
from voicecoach.speech.speechd_speaker import SpeechdSpeaker, ssip_rate


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # python3-speechd exits its
# reader thread with SystemExit on close(); the default threading hook ignores that outside pytest
def test_speechd_speaks_in_order_reports_begin_end_and_can_be_hushed(pulse):
    events = Events()
    speaker = SpeechdSpeaker(Settings(), MonotonicClock(), events)
    try:
        with Recorder(rate=RATE) as recorder:
            speaker.say("First line.", utterance_id=1)
            speaker.say("Second line.", utterance_id=2)
            speaker.cue("hold_start", utterance_id=3)
            assert events.wait_for(lambda items: sum(n == "speech_end" for n, _ in items) >= 3, 30)
            due = time.monotonic() + 0.5
            speaker.say("7", utterance_id=4, kind="count", due=due)
            assert events.wait_for(lambda items: sum(n == "speech_end" for n, _ in items) >= 4, 10)
            speaker.say("This long sentence is cut off in the middle, well before it could come to its natural end.",
                        utterance_id=5)
            assert events.wait_for(lambda items: any(n == "speech_start" and f["id"] == 5 for n, f in items), 15)
            time.sleep(1.0)
            speaker.hush()
            assert events.wait_for(lambda items: any(n == "speech_end" and f["id"] == 5 for n, f in items), 5)
            time.sleep(0.5)
    finally:
        speaker.close()
    order = [(name, fields["id"]) for name, fields in events.items]
    assert order == [("speech_start", 1), ("speech_end", 1), ("speech_start", 2), ("speech_end", 2),
                     ("speech_start", 3), ("speech_end", 3), ("speech_start", 4), ("speech_end", 4),
                     ("speech_start", 5), ("speech_end", 5)]
    assert [f["interrupted"] for f in events.named("speech_end")] == [False, False, False, False, True]
    assert events.named("speech_start")[3]["t"] >= due   # sent to Speech Dispatcher at its due time
    first = events.named("speech_start")[0]
    around = recorder.samples[int((first["t"] - recorder.started) * RATE):][: RATE]
    assert onsets(around, RATE), "no sound was recorded while Speech Dispatcher said it was speaking"


def test_speechd_rate_mapping_is_bounded():
    assert ssip_rate(175) == 0
    assert ssip_rate(400) == 100 and ssip_rate(80) < 0


def test_a_missing_speechd_module_is_one_clear_sentence(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_speechd(name, *args, **kwargs):
        if name == "speechd":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_speechd)
    with pytest.raises(SpeechUnavailable, match=r"^Speech Dispatcher's Python module is not installed .*\)\.$"):
        speechd_speaker.import_speechd()
