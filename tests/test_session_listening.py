"""listening_context: what the session would act on now, told to the listener; it never disagrees with the machine."""
from copy import deepcopy
from dataclasses import replace
from typing import get_args

from voicecoach import session as core
from tests.fakes import Drive, exercise, hold, lines, rest, routine, say

CALF = routine(exercise("Calf", say("Step forward with your {side} leg."), hold(10), rest(5), sides=("left", "right")))
EVERY_INTENT = get_args(core.IntentName)


def context(d: Drive):
    return core.listening_context(d.state, d.ctx)


def ignored_as_the_machine_does(d: Drive, name: str) -> bool:
    """Feeding `name` to a copy of the session does nothing: no action, and the state unchanged but for the misses
    in a row and, while paused, when the user last spoke."""
    copy = deepcopy(d)
    def settled(state):
        return replace(state, attention=replace(state.attention, misses=0), pause=core.Pause())
    before = settled(copy.state)
    actions = copy.feed(core.Intent(name, "calf"))
    return not actions and settled(copy.state) == before


def test_before_the_start_and_while_ending_only_pain_is_acted_on():
    d = Drive(CALF, speech_ms=500)
    assert context(d) == core.ListeningContext("opening", frozenset({"pain"}), "")
    d.start()
    d.intent("stop")
    assert context(d).mode == "ending" and context(d).acts_on == {"pain"}
    assert context(d).last_line == lines()["goodbye"]


def test_at_the_opening_start_is_acted_on_and_add_time_is_not():
    d = Drive(CALF, speech_ms=500, start_wait_ms=10_000).start()
    d.run_until(600)
    listening = context(d)
    assert listening.mode == "opening"
    assert {"resume", "next", "stop", "pain", "help", "ask"} <= listening.acts_on
    assert not {"add_ten_seconds", "other_side", "back", "change_routine"} & listening.acts_on
    assert listening.last_line.startswith("Test routine.")


def test_in_a_hold_add_time_is_acted_on_and_a_paused_hold_says_resume():
    d = Drive(CALF, speech_ms=500).start()
    d.run_until_hold()
    d.run_until(d.now + 3000)
    listening = context(d)
    assert listening.mode == "holding" and listening.last_line == "3"
    assert {"pause", "add_ten_seconds", "next", "back", "time_left", "pain"} <= listening.acts_on
    d.intent("pause")
    listening = context(d)
    assert listening.mode == "paused" and listening.last_line == d.said()[-1][1]
    assert {"resume", "pause", "add_ten_seconds", "stop"} <= listening.acts_on
    assert not {"choose_routine", "change_routine"} & listening.acts_on  # no routine menu in this session


def test_saying_and_resting_and_answering():
    d = Drive(CALF, speech_ms=500).start()
    assert context(d).mode == "saying"
    d.run_until_hold()
    while not (d.state.timing and d.state.step.kind == "rest"):  # "relax", then the rest's line, then the rest
        d.run_until(d.now + 100)
    assert context(d).mode == "resting"
    d.intent("ask", "heat-or-ice")
    assert context(d).mode == "answering" and "Use heat on a spasm." in context(d).last_line


def test_the_routine_menu_acts_on_a_routine_named():
    plans = {"calf": ("Test routine", core.build_plan(CALF, lines()))}
    d = Drive(CALF, speech_ms=500, start_wait_ms=10_000, routines=plans, choose_routine=True).start()
    listening = context(d)
    assert listening.mode == "menu" and {"choose_routine", "change_routine", "resume"} <= listening.acts_on


def test_the_last_line_is_the_reply_not_the_understood_tones_explanation():
    d = Drive(CALF, speech_ms=500).start()
    d.run_until_hold()
    d.feed(core.Intent("time_left", spoken=True))
    assert lines()["understood_first"] in [text for _, text in d.said()]
    said = [text for _, text in d.said()]
    assert said[-1] == lines()["understood_first"]  # the explanation comes after the reply, never in front of it
    assert context(d).last_line == said[-2] and "left" in context(d).last_line


def test_acts_on_agrees_with_the_machine_in_every_mode_met():
    """Outside a waiting mode an intent not in acts_on does nothing; while waiting it gets the waiting help."""
    plans = {"calf": ("Test routine", core.build_plan(CALF, lines()))}
    d = Drive(CALF, speech_ms=500, start_wait_ms=2000, routines=plans, choose_routine=True)
    seen = set()
    for moment in range(60):
        if d.state.mode == "ended":
            break
        listening = context(d)
        seen.add(listening.mode)
        for name in EVERY_INTENT:
            if name in listening.acts_on:
                continue
            if d.state.mode == "waiting":
                copy = deepcopy(d)
                assert copy.intent(name) == deepcopy(d).intent("help"), (listening.mode, name)
            else:
                assert ignored_as_the_machine_does(d, name), (listening.mode, name)
        if moment == 0:
            d.start()
        elif moment == 20:
            d.intent("pause")
        elif moment == 22:
            d.intent("resume")
        else:
            d.run_until(d.now + 700)
    assert {"opening", "menu", "saying", "holding", "resting", "paused"} <= seen
