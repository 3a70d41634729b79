"""The runner loop on a fake clock: events log, history and adapters wired together."""
import json

from voicecoach import session as core
from voicecoach.adapters.silent_speaker import SilentSpeaker
from voicecoach.adapters.sqlite_store import SqliteStore
from voicecoach.cli import lines
from voicecoach.events import EventLog
from voicecoach.ports import Heard
from voicecoach.runner import Runner
from tests.fakes import FakeClock, ScriptedInbox, exercise, hold, routine, say

ROUTINE = routine(exercise("Calf", say("Step forward with your {side} leg."), hold(5), sides=("left", "right")))


def run(tmp_path, script, start_index=0, listener=None):
    """script: (seconds, Heard) or (seconds, (event name, fields)) for a listener's notice."""
    clock = FakeClock(1000.0)
    inbox = ScriptedInbox(clock, [(1000.0 + t, ("notify", *h) if isinstance(h, tuple) else ("heard", h))
                                  for t, h in script])
    speaker = SilentSpeaker(clock, lambda name, fields: inbox.put(("notify", name, fields)))
    store = SqliteStore(tmp_path / "history.db")
    printed: list[str] = []
    ctx = core.Context(lines(), ROUTINE.name)
    runner = Runner(state=core.start_state(core.build_plan(ROUTINE, lines()), start_index), ctx=ctx,
                    speaker=speaker, clock=clock, inbox=inbox, events=EventLog(tmp_path / "events.jsonl"),
                    store=store, print_line=printed.append, routine_ref="test", listener=listener)
    outcome = runner.run()
    runner.events.close()
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    return outcome, events, printed, store


def test_a_whole_session_is_logged_truthfully(tmp_path):
    outcome, events, printed, store = run(tmp_path, [])
    assert outcome.completed and not outcome.interrupted
    names = [e["event"] for e in events]
    assert names[0] == "session_start" and names[-1] == "session_end"
    assert events[-1]["completed"] is True
    counts = [e for e in events if e["event"] == "count"]
    assert len(counts) == 10 and all(e["t"] == e["due"] for e in counts)
    assert [e["held"] for e in events if e["event"] == "hold_end"] == [5.0, 5.0]
    starts = [e for e in events if e["event"] == "speech_start"]
    ends = [e for e in events if e["event"] == "speech_end"]
    assert len(starts) == len(ends) and all(e["interrupted"] is False for e in ends)
    assert "Step forward with your right leg." in printed
    record = store.history()[0]
    assert record.completed and record.finished and record.steps_done == record.steps_total


def test_typed_pause_and_resume_keep_the_hold_length(tmp_path):
    # The first hold starts once the opening lines are said: at t=0 with a silent speaker.
    script = [(2.5, Heard("pause", "pause")), (10.0, Heard("resume", "resume")),
              (12.0, Heard("how long left", "time_left"))]
    outcome, events, printed, _ = run(tmp_path, script)
    assert outcome.completed
    heard = [e for e in events if e["event"] == "heard"]
    assert [h["intent"] for h in heard] == ["pause", "resume", "time_left"]
    first_end = next(e for e in events if e["event"] == "hold_end")
    assert first_end["held"] == 5.0 and first_end["t"] == 12.5
    assert "Resuming, 3 seconds left." in printed
    assert "1 second left." in printed   # asked at 12.0; the hold resumed at 10.0 with 2.5 s to go
    assert [e["to"] for e in events if e["event"] == "state"][:3] == ["running", "paused", "running"]


def test_a_voice_stop_under_way_keeps_the_place_as_ctrl_c_does(tmp_path):
    outcome, events, printed, store = run(tmp_path, [(1.5, Heard("stop", "stop"))])
    assert not outcome.completed and not outcome.interrupted
    assert events[-1] == {"t": 1.5, "event": "session_end", "completed": False, "interrupted": False}
    assert printed[-1].startswith("Stopping here. Well done. Your place is kept")
    unfinished = store.unfinished()
    assert unfinished is not None and not unfinished.completed and unfinished.steps_done > 0
    assert unfinished.seconds == 1.5


def test_a_stop_before_the_routine_is_under_way_keeps_nothing(tmp_path):
    store = SqliteStore(tmp_path / "history.db")
    store.end(store.begin("test", "Test", 5), False, 2.0)  # no step done yet
    assert store.unfinished() is None and store.history()[0].finished


def test_ctrl_c_leaves_the_session_resumable_from_its_step(tmp_path):
    clock = FakeClock(0.0)

    def boom(*_):
        raise KeyboardInterrupt

    store = SqliteStore(tmp_path / "history.db")
    inbox = ScriptedInbox(clock, [(3.0, ("heard", Heard("next", "next")))])
    speaker = SilentSpeaker(clock, lambda name, fields: inbox.put(("notify", name, fields)))
    plan = core.build_plan(ROUTINE, lines())
    runner = Runner(state=core.start_state(plan), ctx=core.Context(lines(), ROUTINE.name), speaker=speaker,
                    clock=clock, inbox=inbox, events=EventLog(None), store=store, print_line=lambda _: None,
                    routine_ref="test")
    original = runner._heard
    runner._heard = lambda heard: (original(heard), boom())
    outcome = runner.run()
    assert outcome.interrupted
    unfinished = store.unfinished()
    assert unfinished is not None and 0 < unfinished.steps_done < unfinished.steps_total
    assert plan[unfinished.steps_done].side == "right"


class RecordingListener:
    def __init__(self):
        self.coach_lines: list[str | None] = []

    def start(self, post) -> None:
        pass

    def coach_speaking(self, text: str | None, kind: str = "instruction") -> None:
        self.coach_lines.append((text, kind))

    def stop(self) -> None:
        pass


def test_the_listener_is_told_the_coachs_lines_and_counts_but_not_its_tones(tmp_path):
    listener = RecordingListener()
    _, events, _, _ = run(tmp_path, [], listener=listener)
    assert ("Step forward with your left leg.", "instruction") in listener.coach_lines
    assert ("3", "count") in listener.coach_lines
    tones = {e["text"] for e in events if e["event"] == "speech_start" and e["kind"] == "cue"}
    assert "hold_start" in tones
    assert not tones & {text for text, _ in listener.coach_lines}


def test_a_coach_heard_through_speakers_says_how_to_speak_to_it(tmp_path):
    _, events, printed, _ = run(tmp_path, [(3.0, ("coach_audible", {}))])
    notice = lines()["coach_audible"]
    assert printed.count(notice) == 1
    assert [e["text"] for e in events if e["event"] == "speech_start"].count(notice) == 1
    assert [e["event"] for e in events].count("coach_audible") == 1


def test_spoken_near_misses_get_the_not_understood_tone_and_other_rejected_speech_nothing(tmp_path):
    chatter = Heard("the news at six", None, audio_end=1001.0, extra={"near_miss": False})
    unclear = Heard("pause", None, audio_end=1002.0, extra={"near_miss": True})
    outcome, events, printed, _ = run(tmp_path, [(1.5, chatter), (2.5, unclear), (3.0, unclear)])
    cues = [e["text"] for e in events if e["event"] == "speech_start" and e["kind"] == "cue"]
    assert cues.count("not_understood") == 2
    assert "Sorry, I didn't catch that. Say help to hear what you can say." in printed
    assert [e["intent"] for e in events if e["event"] == "heard"] == [None, None, None]


def test_a_miss_whose_transcript_comes_close_to_a_command_gets_the_tone_chatter_and_echo_do_not(tmp_path):
    def missed(at, transcript, **extra):
        return at, Heard(transcript, None, audio_end=1000.0 + at, extra={"near_miss": False, "transcript": transcript,
                                                                        **extra})
    script = [missed(1.0, "The news at six."), missed(1.2, "Eight."), missed(1.4, "Carry one.", echo=True),
              missed(1.6, "Where am eye?"), missed(1.8, "How long lift?")]
    _, events, printed, _ = run(tmp_path, script)
    cues = [e["text"] for e in events if e["event"] == "speech_start" and e["kind"] == "cue"]
    assert cues.count("not_understood") == 2
    assert printed.count("Sorry, I didn't catch that. Say help to hear what you can say.") == 1
