"""Property tests: any sequence of commands and delays leaves the session consistent."""
from hypothesis import given, settings, strategies as st

from voicecoach import session as core
from tests.fakes import Drive, exercise, hold, rest, routine, say

ROUTINE = routine(exercise("A", say("Left {side}."), hold(4), rest(2), sides=("left", "right")),
                  exercise("B", hold(6, "fives"), tip="A tip."))
INTENTS = ["next", "back", "repeat", "pause", "resume", "time_left", "where", "help", "slower", "ask", "pain",
           "more", "more_help", "add_ten_seconds", "other_side", "count_fives", "count_none", None]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3000), st.sampled_from(INTENTS)), max_size=25),
       st.sampled_from([0, 300, 1200]))
def test_random_commands_never_break_the_session(script, speech_ms):
    d = Drive(ROUTINE, speech_ms=speech_ms).start()
    for delay, intent in script:
        d.run_until(d.now + delay)
        if d.state.mode == "ended":
            break
        d.intent(intent, "heat-or-ice" if intent == "ask" else None)
        assert 0 <= d.state.index < len(d.state.plan)
    if d.state.mode == "paused":
        d.intent("resume")
    d.run_until(d.now + 200_000)
    assert d.state.mode == "ended" and d.state.completed
    for _, end in d.records("hold_end"):
        if not end.get("early"):
            assert end["held"] == end["seconds"]
    ids = [a.id for _, a in d.actions if isinstance(a, (core.Say, core.Cue))]
    assert len(ids) == len(set(ids))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3000), st.sampled_from(INTENTS)), max_size=25),
       st.sampled_from([0, 300, 1200]))
def test_random_commands_with_cues_and_time_to_move_never_break_the_session(script, speech_ms):
    long_routine = routine(exercise("A", say("Left {side}.", once=True), say("Step {side}."), hold(22), rest(2),
                                    sides=("left", "right")), exercise("B", hold(21, "fives"), tip="A tip."))
    d = Drive(long_routine, speech_ms=speech_ms, move_ms=1500,
              cues=frozenset({"halfway", "ten_left", "countdown"})).start()
    for delay, intent in script:
        d.run_until(d.now + delay)
        if d.state.mode == "ended":
            break
        d.intent(intent, "heat-or-ice" if intent == "ask" else None)
        assert 0 <= d.state.index < len(d.state.plan)
    if d.state.mode == "paused":
        d.intent("resume")
    d.run_until(d.now + 400_000)
    assert d.state.mode == "ended" and d.state.completed
    for _, end in d.records("hold_end"):
        if not end.get("early"):
            assert end["held"] == end["seconds"]
    ids = [a.id for _, a in d.actions if isinstance(a, (core.Say, core.Cue))]
    assert len(ids) == len(set(ids))
