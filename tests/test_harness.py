"""Tests of the real-sound harness: private PulseAudio devices, Recorder, playback, test speech, onset finding."""
import array
import math
import random
import time

import pytest

from tests import harness


def tone(seconds: float, db: float = -10, hz: float = 440) -> list[int]:
    amplitude = 32768 * 10 ** (db / 20)
    return [round(amplitude * math.sin(2 * math.pi * hz * i / harness.RATE)) for i in range(round(seconds * harness.RATE))]


def quiet(seconds: float) -> list[int]:
    return [0] * round(seconds * harness.RATE)


def test_onsets_and_offsets_find_each_sound_after_a_long_enough_gap():
    samples = array.array("h", quiet(0.5) + tone(0.3) + quiet(0.05) + tone(0.2) + quiet(0.4) + tone(0.1) + quiet(0.2))
    found_onsets = harness.onsets(samples, min_gap_ms=150)
    found_offsets = harness.offsets(samples, min_gap_ms=150)
    # The 50 ms gap is shorter than min_gap_ms, so the first two tones are one sound.
    assert found_onsets == pytest.approx([0.5, 1.45], abs=0.002)
    assert found_offsets == pytest.approx([1.05, 1.55], abs=0.002)


def test_a_noise_floor_below_the_threshold_is_not_sound():
    samples = array.array("h", [round(x * 0.001) for x in tone(1.0, db=0)])  # -60 dBFS
    assert harness.onsets(samples, threshold_db=-40) == []
    assert harness.onsets(samples, threshold_db=-70) == [0.0]


def test_find_clip_gives_where_a_clip_plays_and_how_strongly_it_plays_again():
    noisy = random.Random(7)
    clip = [round(noisy.gauss(0, 3000)) for _ in range(harness.RATE // 10)]
    softer = [s // 2 for s in clip]
    once = quiet(0.3) + softer + quiet(0.5)
    offset, score, elsewhere = harness.find_clip(array.array("h", once), clip)
    assert offset == round(0.3 * harness.RATE) and score == pytest.approx(1, abs=0.01) and elsewhere < 0.3
    _, _, again = harness.find_clip(array.array("h", once + clip + quiet(0.2)), clip)
    assert again == pytest.approx(1, abs=0.01)


@pytest.mark.parametrize("engine", ["espeak-ng", "flite"])
def test_make_speech_wav_gives_16k_mono_speech_with_a_quiet_but_not_silent_floor(tmp_path, engine):
    path = harness.make_speech_wav("next", tmp_path / "next.wav", noise_db=-60, engine=engine, pad_s=0.3)
    samples = harness.read_wav(path)
    lead = samples[: harness.RATE // 10]
    assert any(lead), "the padding must carry the noise floor, not digital silence"
    assert max(abs(s) for s in lead) < 32768 * 10 ** (-40 / 20)
    assert harness.onsets(samples) and harness.onsets(samples)[0] >= 0.25
    assert len(samples) / harness.RATE > 0.6


def test_require_pulse_fails_without_the_harness(monkeypatch):
    monkeypatch.delenv("VOICECOACH_TEST_PULSE", raising=False)
    with pytest.raises(AssertionError, match="scripts/test"):
        harness.require_pulse()


def test_require_pulse_fails_when_the_daemon_does_not_answer(monkeypatch, tmp_path, pulse):
    monkeypatch.setenv("PULSE_RUNTIME_PATH", str(tmp_path / "nobody"))
    with pytest.raises(AssertionError, match="scripts/test"):
        harness.require_pulse()


def test_sound_played_into_micfeed_reaches_the_mic_source(tmp_path, pulse):
    command = harness.make_speech_wav("pause", tmp_path / "pause.wav", noise_db=-60, pad_s=0.2)
    with harness.Recorder(device="mic") as recording:
        harness.play_into_mic(command)
    heard = harness.onsets(recording.samples)
    assert heard, "nothing arrived on mic"
    assert heard[0] > 0.1, "the recording should begin with the quiet before the command"
    assert max(abs(s) for s in recording.samples) > 32768 * 10 ** (-20 / 20)


def test_speaker_output_shows_on_the_monitor_in_order_and_not_before_it_was_played(tmp_path, pulse):
    first = harness.make_speech_wav("one", tmp_path / "one.wav")
    second = harness.make_speech_wav("two", tmp_path / "two.wav", pad_s=0.3)
    with harness.Recorder() as recording:
        requested = time.monotonic()
        harness.play(first, "spk")
        harness.play(second, "spk")
    heard = [recording.started + t for t in harness.onsets(recording.samples)]
    ended = [recording.started + t for t in harness.offsets(recording.samples)]
    assert len(heard) == 2, f"want one sound per word, got onsets {heard}"
    assert requested < heard[0] < ended[0] < heard[1] < ended[1]


def test_playing_into_a_missing_sink_fails_loudly(tmp_path, pulse):
    wav = harness.make_speech_wav("next", tmp_path / "next.wav")
    with pytest.raises(AssertionError, match="nosuchsink"):
        harness.play(wav, "nosuchsink")


def test_recording_a_missing_source_fails_at_once_with_pacats_reason(pulse):
    with pytest.raises(AssertionError, match="No such entity"):
        with harness.Recorder(device="nosuchsource"):
            pass
