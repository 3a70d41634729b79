"""Speech output without a sound device: player scheduling, hush, skipping, rendering cache, earcons, adjust."""
from __future__ import annotations

import threading
from array import array

import pytest

from voicecoach.config import Settings
from voicecoach.speech import earcons
from voicecoach.speech.clips import RATE, Clip, trim
from voicecoach.speech.player import CHUNK, LATE_LIMIT, Item, Player
from voicecoach.speech.pyttsx3_speaker import Pyttsx3Speaker
from voicecoach.speech.render import AHEAD, URGENT, Renderer


def tone(n: int, value: int = 1000) -> Clip:
    return Clip(array("h", [value] * n))


def drain(player: Player) -> list[tuple[str, dict]]:
    out = []
    while not player.events.empty():
        out.append(player.events.get())
    return out


def play(player: Player, seconds: float, t0: float = 0.0) -> tuple[array, float]:
    """Run the player for `seconds` of output starting at clock time t0; returns samples and the end time."""
    samples, t = array("h"), t0
    for _ in range(int(seconds * RATE / CHUNK) + 1):
        samples.frombytes(player.fill(CHUNK, t))
        t += CHUNK / RATE
    return samples, t


def test_items_play_in_order_back_to_back_with_start_and_end_events():
    clips = {"a": tone(1000, 1000), "b": tone(700, 2000), "c": tone(300, 3000)}
    player = Player(lambda item: clips[item.text])
    for number, text in enumerate("abc", 1):
        player.add(Item(number, text, "instruction"))
    samples, _ = play(player, 0.2)
    assert list(samples[:2000]) == [1000] * 1000 + [2000] * 700 + [3000] * 300
    assert not any(samples[2000:])
    events = drain(player)
    assert [(name, fields["id"]) for name, fields in events] == [
        ("speech_start", 1), ("speech_end", 1), ("speech_start", 2), ("speech_end", 2),
        ("speech_start", 3), ("speech_end", 3)]
    assert events[2][1]["t"] == pytest.approx(1000 / RATE)
    assert events[5][1]["interrupted"] is False


def test_a_count_starts_on_the_sample_of_its_due_time():
    player = Player(lambda item: tone(100))
    due = 0.1234
    player.add(Item(1, "1", "count", due=due))
    samples, _ = play(player, 0.3)
    first = next(i for i, s in enumerate(samples) if s)
    assert first == round(due * RATE)
    start = drain(player)[0][1]
    assert start["t"] == pytest.approx(due, abs=1 / RATE) and start["due"] == due


def test_a_count_that_cannot_start_in_time_is_skipped_and_the_next_plays():
    clips = {"long": tone(RATE), "5": tone(100, 500), "6": tone(100, 600)}
    player = Player(lambda item: clips[item.text])
    player.add(Item(1, "long", "instruction"))                 # plays 0 .. 1.0 s
    player.add(Item(2, "5", "count", due=0.5))                 # would start at 1.0 > 0.5 + LATE_LIMIT
    player.add(Item(3, "6", "count", due=1.0 - LATE_LIMIT / 2))  # late but within the limit
    samples, _ = play(player, 1.5)
    events = drain(player)
    assert ("speech_skipped", 2) in [(name, fields["id"]) for name, fields in events]
    assert 500 not in samples and 600 in samples
    started = [fields for name, fields in events if name == "speech_start" and fields["id"] == 3][0]
    assert started["t"] == pytest.approx(1.0, abs=CHUNK / RATE)


def test_an_unrendered_instruction_holds_its_place_in_the_queue():
    ready = {"b": tone(100, 2000)}
    player = Player(lambda item: ready.get(item.text))
    player.add(Item(1, "a", "instruction"))
    player.add(Item(2, "b", "instruction"))
    samples, t = play(player, 0.1)
    assert not any(samples) and drain(player) == []
    ready["a"] = tone(100, 1000)
    samples, _ = play(player, 0.1, t)
    assert [fields["id"] for name, fields in drain(player) if name == "speech_start"] == [1, 2]


def test_hush_cuts_at_the_next_chunk_drops_the_queue_and_reports_interrupted():
    player = Player(lambda item: tone(RATE * 5))
    player.add(Item(1, "long", "instruction"))
    player.add(Item(2, "next", "instruction"))
    samples, t = play(player, 0.5)
    player.hush(now=t)
    after, _ = play(player, 0.5, t)
    assert any(samples) and not any(after)
    events = drain(player)
    assert events[-1] == ("speech_end", {"id": 1, "text": "long", "kind": "instruction", "t": t, "interrupted": True})
    assert not player.busy()


def ramp(n: int) -> Clip:
    return Clip(array("h", [k % 30000 + 1 for k in range(n)]))


def test_a_paused_line_falls_silent_at_the_next_chunk_and_goes_on_from_where_it_stopped():
    player = Player(lambda item: ramp(RATE))
    player.add(Item(1, "line", "instruction"))
    before, t = play(player, 0.2)
    player.pause_line(now=t, until=t + 3.0)
    silent, t2 = play(player, 0.5, t)
    player.resume_line(now=t2)
    after, _ = play(player, 1.0, t2)
    assert not any(silent)
    played = [s for s in before if s] + [s for s in after if s]
    assert played == list(ramp(RATE).samples)  # nothing lost, nothing said twice
    events = [(name, fields["t"]) for name, fields in drain(player)]
    assert events[:3] == [("speech_start", 0.0), ("speech_paused", t), ("speech_resumed", t2)]
    assert events[3][0] == "speech_end"


def test_a_pause_ends_by_itself_and_a_line_gives_way_only_once():
    player = Player(lambda item: ramp(RATE * 5))
    player.add(Item(1, "line", "instruction"))
    _, t = play(player, 0.1)
    player.pause_line(now=t, until=t + 0.3)
    silent, t2 = play(player, 0.3, t)
    after, t3 = play(player, 0.2, t2)
    assert not any(silent) and all(after)  # went on at the limit without being told
    player.pause_line(now=t3, until=t3 + 3.0)  # the same line again: the user talks over it now
    assert all(play(player, 0.2, t3)[0])
    assert [name for name, _ in drain(player)] == ["speech_start", "speech_paused", "speech_resumed"]


def test_a_count_does_not_pause_and_a_hushed_paused_line_ended_when_it_fell_silent():
    player = Player(lambda item: tone(RATE // 10) if item.kind == "count" else tone(RATE * 5))
    player.add(Item(1, "5", "count", due=0.0))
    _, t = play(player, 0.05)
    player.pause_line(now=t, until=t + 3.0)
    assert any(play(player, 0.05, t)[0])  # the count kept sounding
    player.add(Item(2, "line", "instruction"))
    _, t = play(player, 0.3, t + 0.05)
    player.pause_line(now=t, until=t + 3.0)
    _, t2 = play(player, 0.5, t)
    player.hush(now=t2)
    ended = [fields for name, fields in drain(player) if name == "speech_end" and fields["id"] == 2]
    assert ended == [{"id": 2, "text": "line", "kind": "instruction", "t": t, "interrupted": True}]
    player.add(Item(3, "next", "instruction"))
    assert any(play(player, 0.1, t2)[0])  # a hush ends the pause: the answer is said at once


def test_an_acknowledgement_sounds_at_once_over_a_playing_count_and_the_queue_keeps_its_times():
    clips = {"5": tone(RATE // 2, 1000), "6": tone(100, 3000)}
    player = Player(lambda item: clips[item.text])
    player.add(Item(1, "5", "count", due=0.0))
    player.add(Item(2, "6", "count", due=0.6))
    samples, t = play(player, 0.1)
    player.add(Item(3, "understood", "cue", clip=tone(200, 500), over=True))
    after, _ = play(player, 0.6, t)
    assert list(after[:200]) == [1500] * 200 and after[200] == 1000  # mixed over the count, at the next chunk
    events = drain(player)
    started = {fields["id"]: fields["t"] for name, fields in events if name == "speech_start"}
    assert started[3] == pytest.approx(t) and started[2] == pytest.approx(0.6, abs=1 / RATE)
    assert [name for name, fields in events if fields["id"] == 3] == ["speech_start", "speech_end"]
    assert not player.busy()


def test_hush_and_a_lost_device_end_an_acknowledgement_too():
    player = Player(lambda item: tone(RATE))
    player.add(Item(1, "understood", "cue", clip=tone(RATE, 500), over=True))
    _, t = play(player, 0.1)
    player.hush(now=t)
    assert not any(play(player, 0.1, t)[0]) and not player.busy()
    player.add(Item(2, "not_understood", "cue", clip=tone(RATE, 500), over=True))
    player.drain_silently(t)
    assert [(name, fields["id"]) for name, fields in drain(player)][-3:] == [
        ("speech_end", 1), ("speech_start", 2), ("speech_end", 2)]
    assert not player.busy()


def test_gain_scales_samples():
    player = Player(lambda item: tone(100, 1000))
    player.gain = 0.5
    player.add(Item(1, "a", "instruction"))
    samples, _ = play(player, 0.05)
    assert samples[0] == 500


def test_trim_removes_leading_silence_and_most_trailing_silence():
    samples = array("h", [0] * 5000 + [3000] * 100 + [0] * 20000)
    trimmed = trim(samples)
    assert trimmed[round(0.002 * RATE)] == 3000
    assert len(trimmed) == round(0.002 * RATE) + 100 + round(0.2 * RATE)


def test_earcons_exist_are_short_and_distinct():
    clips = {name: earcons.earcon(name).samples for name in ("hold_start", "hold_end", "understood", "not_understood")}
    for name, samples in clips.items():
        assert 0.1 <= len(samples) / RATE <= 0.5, name
        assert max(samples) > 5000, name
    assert len({bytes(s) for s in clips.values()}) == 4


class FakeSynth:
    def __init__(self, log: list, gate: threading.Event | None = None):
        self.log, self.gate = log, gate

    def __call__(self, text, voice, rate):
        if self.gate is not None:
            self.gate.wait(5)
        self.log.append((text, rate))
        return Clip(array("h", [len(text)] * 10))


def test_renderer_caches_on_disk_so_a_second_start_does_not_synthesise(tmp_path):
    log: list = []
    first = Renderer(lambda: FakeSynth(log), folder=tmp_path)
    assert first.wait(("hello", None, 175), 5).samples[0] == 5
    first.close()
    second = Renderer(lambda: FakeSynth(log), folder=tmp_path)
    assert second.wait(("hello", None, 175), 5).samples[0] == 5
    assert second.wait(("hello", None, 195), 5) is not None
    second.close()
    assert log == [("hello", 175), ("hello", 195)]


def test_on_demand_rendering_jumps_ahead_of_prepared_texts(tmp_path):
    log: list = []
    gate = threading.Event()
    renderer = Renderer(lambda: FakeSynth(log, gate), folder=tmp_path)
    renderer.request([("p1", None, 175)], AHEAD)   # the worker takes this one and waits at the gate
    renderer.request([(f"p{i}", None, 175) for i in range(2, 6)], AHEAD)
    renderer.request([("now", None, 175)], URGENT)
    gate.set()
    renderer.wait(("p5", None, 175), 5)
    renderer.close()
    assert log.index(("now", 175)) <= 1


class SilentOutput:
    """Stands in for PyAudioOutput; alive until told otherwise."""

    def __init__(self, player, clock):
        self.player, self.is_alive = player, True

    def alive(self, now, patience):
        return self.is_alive

    def close(self):
        pass


class Clock:
    def now(self):
        return 0.0


def make_speaker(tmp_path, notify, remember=None):
    renderer = Renderer(lambda: FakeSynth([]), folder=tmp_path)
    return Pyttsx3Speaker(Settings(rate=175, volume=0.9), Clock(), notify, remember=remember,
                          renderer=renderer, output_factory=SilentOutput)


def test_adjust_changes_rate_and_volume_within_bounds_says_so_and_remembers(tmp_path):
    remembered = []
    speaker = make_speaker(tmp_path, lambda name, fields: None, remembered.append)
    try:
        assert speaker.adjust("slower") == "Rate 155 words a minute."
        assert speaker.adjust("louder") == "Volume 100 percent."
        assert speaker.adjust("louder") == "Volume 100 percent. That is the limit."
        assert speaker.adjust("sideways") is None
        assert remembered[-1].rate == 155 and remembered[-1].volume == 1.0
        for _ in range(30):
            speaker.adjust("faster")
        assert speaker.settings.rate == 400
    finally:
        speaker.close()


def test_a_lost_device_is_reported_once_and_later_speech_reports_at_once(tmp_path):
    events = []
    done = threading.Event()

    def notify(name, fields):
        events.append((name, fields.get("id")))
        if name == "speech_end" and fields.get("id") == 3:
            done.set()

    opened = []

    def device_that_cannot_be_reopened(player, clock):
        if opened:
            raise OSError("no default output device")
        opened.append(SilentOutput(player, clock))
        return opened[-1]

    renderer = Renderer(lambda: FakeSynth([]), folder=tmp_path)
    speaker = Pyttsx3Speaker(Settings(), Clock(), notify, renderer=renderer,
                             output_factory=device_that_cannot_be_reopened)
    try:
        speaker.say("queued", utterance_id=1)
        speaker._output.is_alive = False
        speaker.say("also queued", utterance_id=2)
        while not any(name == "output_lost" for name, _ in events):
            threading.Event().wait(0.02)
        speaker.say("after", utterance_id=3)
        assert done.wait(5)
    finally:
        speaker.close()
    assert [name for name, _ in events].count("output_lost") == 1
    assert ("speech_start", 3) in events and ("speech_end", 3) in events
    for number in (1, 2):
        assert ("speech_end", number) in events
