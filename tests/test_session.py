"""The session state machine, driven in simulated milliseconds."""
from voicecoach import session as core
from tests.fakes import Drive, exercise, hold, rest, routine, say

CALF = routine(exercise("Calf", say("Step forward with your {side} leg."), hold(10), sides=("left", "right"),
                        tip="Use heat afterwards."))


def hold_windows(d: Drive) -> list[tuple[int, int]]:
    starts = [t for t, _ in d.records("hold_start")]
    ends = [t for t, _ in d.records("hold_end")]
    return list(zip(starts, ends))


def test_plan_runs_each_side_then_the_tip_then_the_close():
    d = Drive(CALF).start()
    d.run_to_end()
    texts = [text for _, text in d.said("instruction")]
    assert texts[0].startswith("Test routine. For tests.")
    assert "Step forward with your left leg." in texts
    assert texts.index("Step forward with your left leg.") < texts.index("Step forward with your right leg.")
    assert texts[-2] == "Tip: Use heat afterwards."
    assert texts[-1] == "Well done. That is the end of Test routine."
    assert d.state.mode == "ended" and d.state.completed
    assert isinstance(d.actions[-1][1], core.End) and d.actions[-1][1].completed


def test_counts_fall_on_whole_seconds_after_the_hold_starts():
    d = Drive(CALF, speech_ms=700).start()
    d.run_until_hold()
    start = d.records("hold_start")[0][0]
    d.run_until(start + 10_000)
    counts = d.records("count")
    assert [c["n"] for _, c in counts] == list(range(1, 11))
    assert [c["due"] * 1000 for _, c in counts] == [start + n * 1000 for n in range(1, 11)]
    assert [t for t, _ in counts] == [start + n * 1000 for n in range(1, 11)]
    assert d.records("hold_end")[0][1]["held"] == 10.0


def test_counts_are_handed_over_early_by_the_lead_but_due_on_the_second():
    d = Drive(CALF, lead_ms=300).start()
    d.run_until_hold()
    start = d.records("hold_start")[0][0]
    d.run_until(start + 2000)
    said = [(t, a) for t, a in d.actions if isinstance(a, core.Say) and a.kind == "count"]
    assert [(t, a.due) for t, a in said[:2]] == [(start + 700, start + 1000), (start + 1700, start + 2000)]


def test_a_late_count_is_skipped_not_shifted():
    d = Drive(CALF).start()
    d.run_until_hold()
    start = d.records("hold_start")[0][0]
    d.now = start + 3200   # the runner was held up for three seconds
    d.feed(core.Tick())
    counts = [c for _, c in d.records("count")]
    assert [(c["n"], c["skipped"]) for c in counts] == [(1, True), (2, True), (3, False)]
    assert [text for _, text in d.said("count")] == ["3"]
    d.run_until(start + 4000)
    assert d.records("count")[-1][0] == start + 4000


def test_fives_counts_up_in_fives_then_down_three_two_one():
    assert core.count_schedule(30, "fives") == (
        (5, "5"), (10, "10"), (15, "15"), (20, "20"), (25, "25"), (27, "3"), (28, "2"), (29, "1"))
    assert core.count_schedule(12, "fives") == ((5, "5"), (9, "3"), (10, "2"), (11, "1"))
    assert core.count_schedule(2, "fives") == ((1, "1"),)
    assert core.count_schedule(20, "none") == ()


def test_pause_freezes_the_hold_and_resume_keeps_the_remaining_time():
    d = Drive(CALF, speech_ms=500).start()
    d.run_until_hold()
    start = d.records("hold_start")[0][0]
    d.run_until(start + 4300)
    d.intent("pause")
    assert d.state.mode == "paused"
    d.run_until(start + 64_300)                  # a minute passes; nothing is counted
    assert [c["n"] for _, c in d.records("count")] == [1, 2, 3, 4]
    d.intent("time_left")
    assert d.said()[-1][1] == "6 seconds left, paused."
    d.intent("resume")
    assert d.said()[-1][1] == "Resuming, 6 seconds left."
    resumed = d.now + 500                        # the timer restarts when "Resuming" has been said
    d.run_until(resumed + 6000)
    assert [c["n"] for _, c in d.records("count")] == list(range(1, 11))
    assert d.records("count")[4][0] == resumed + 700  # count 5 was due 0.7 s after the pause
    end_time, end = d.records("hold_end")[0]
    assert end["held"] == 10.0
    assert end_time == resumed + 5700
    modes = [(f["from"], f["to"]) for _, f in d.records("state")]
    assert ("running", "paused") in modes and ("paused", "running") in modes


def test_next_ends_the_hold_early_and_moves_on():
    d = Drive(CALF).start()
    d.run_until_hold()
    start = d.records("hold_start")[0][0]
    d.run_until(start + 2500)
    d.intent("next")
    t, end = d.records("hold_end")[0]
    assert end == {"held": 2.5, "seconds": 10, "early": True}
    assert any(isinstance(a, core.Hush) for _, a in d.actions)
    assert d.said()[-1][1] == "Step forward with your right leg."


def test_next_on_the_last_step_finishes_the_routine():
    d = Drive(CALF).start()
    while d.state.index < len(d.state.plan) - 1:
        d.intent("next")
    d.intent("next")
    assert d.state.mode == "ending" and d.state.completed
    d.run_until(d.now)  # the summary of the session is said, then it ends
    assert d.state.mode == "ended" and d.state.completed


def test_back_early_in_a_hold_returns_to_the_step_before():
    d = Drive(CALF).start()
    d.run_until_hold()
    index = d.state.index
    d.run_until(d.now + 1000)
    d.intent("back")
    assert d.state.index == index - 1
    assert d.said()[-1][1] == "Step forward with your left leg."


def test_back_later_in_a_hold_restarts_it():
    d = Drive(CALF).start()
    d.run_until_hold()
    index = d.state.index
    d.run_until(d.now + 5000)
    d.intent("back")
    assert d.state.index == index and not d.state.timing
    d.run_until_hold(2)
    restart = d.records("hold_start")[1][0]
    d.run_until(restart + 10_000)
    assert d.records("hold_end")[-1][1]["held"] == 10.0


def test_stop_ends_politely_and_not_completed():
    d = Drive(CALF, speech_ms=300).start()
    d.run_until_hold()
    d.intent("stop")
    assert d.said()[-2][1] == "Stopping here. Well done."
    assert d.said()[-1][1].startswith("You got to exercise 1 of 1")
    assert d.state.mode == "ending"
    d.run_until(d.now + 600)
    assert d.state.mode == "ended" and not d.state.completed
    assert isinstance(d.actions[-1][1], core.End) and not d.actions[-1][1].completed


def test_repeat_where_and_help_answer_without_moving():
    d = Drive(CALF).start()
    d.run_until_hold()
    index = d.state.index
    d.run_until(d.now + 3000)
    d.intent("repeat")
    assert d.said()[-1][1] == "Step forward with your left leg."
    d.intent("where")
    assert d.said()[-1][1] == "Exercise 1 of 1, Calf, left side. Holding, 7 seconds left."
    d.intent("help")
    assert "pause" in d.said()[-1][1]
    assert d.state.index == index and d.state.timing


def test_a_question_pauses_the_hold_answers_and_resumes_it():
    d = Drive(CALF, speech_ms=1000).start()
    d.run_until_hold()
    start = d.records("hold_start")[0][0]
    d.run_until(start + 3000)
    d.intent("ask", "heat-or-ice")
    assert d.state.mode == "answering"
    assert d.said()[-2][1] == "This is general information, not medical advice. Use heat on a spasm."
    assert d.said()[-1][1] == "Back to the stretch."
    d.run_until(start + 3000 + 2000)             # answer and "back to the stretch": two seconds of speech
    assert d.state.mode == "running"
    d.intent("ask", "heat-or-ice")
    assert d.said()[-2][1] == "Use heat on a spasm."   # the disclaimer is said once per session
    d.run_until(start + 30_000)
    assert d.records("hold_end")[0][1]["held"] == 10.0


def test_an_unknown_question_gets_the_polite_out_of_scope_answer():
    d = Drive(CALF).start()
    d.intent("ask", None)
    assert d.said("answer")[-1][1] == "I can answer questions about calf cramps."


def test_not_understood_gives_a_gentle_earcon_and_a_hint_only_after_two_misses():
    d = Drive(CALF).start()
    actions = d.intent(None)
    assert actions[0].name == "not_understood"
    assert actions[1].text == "That tone means I did not catch what you said."   # only the first time
    d.intent("where")
    actions = d.intent(None)
    assert [type(a) for a in actions] == [core.Cue] and actions[0].name == "not_understood"
    actions = d.intent(None)
    assert actions[0].name == "not_understood" and "help" in actions[1].text
    assert [type(a) for a in d.intent(None)] == [core.Cue]
    d.intent("where")
    assert [type(a) for a in d.intent(None)] == [core.Cue]   # a command in between starts the count again


def test_pain_wins_over_everything_and_waits_for_the_user():
    for setup in ([], ["pause"], ["ask"]):
        d = Drive(CALF, speech_ms=800).start()
        d.ctx = core.Context(**{**d.ctx.__dict__, "safety": "Sharp pain is a reason to stop."})
        d.run_until_hold()
        d.run_until(d.now + 2000)
        for name in setup:
            d.intent(name, "heat-or-ice" if name == "ask" else None)
        remaining = core.remaining_ms(d.state, d.now)
        actions = d.intent("pain")
        assert isinstance(actions[0], core.Hush)
        assert d.state.mode == "paused"
        assert "Ease off the stretch now" in d.said()[-1][1] and "Sharp pain" in d.said()[-1][1]
        d.run_until(d.now + 60_000)
        assert d.state.mode == "paused" and core.remaining_ms(d.state, d.now) == remaining
        d.intent("resume")
        d.run_until(d.now + 60_000)
        assert d.records("hold_end")[0][1]["held"] == 10.0


def test_speech_settings_are_handed_to_the_speaker():
    d = Drive(CALF).start()
    assert d.intent("slower") == [core.Adjust("slower")]


def test_rest_waits_quietly_for_its_seconds():
    d = Drive(routine(exercise("Rest test", rest(5), say("After.")))).start()
    d.run_until(60_000)
    said = d.said()
    rest_said = next(t for t, text in said if text == "Rest for 5 seconds.")
    after = next(t for t, text in said if text == "After.")
    assert after - rest_said == 5000


def test_resuming_a_session_starts_at_the_saved_step():
    plan = core.build_plan(CALF, Drive(CALF).ctx.lines)
    index = next(i for i, s in enumerate(plan) if s.side == "right")
    d = Drive(CALF, start_index=index).start()
    assert d.said()[0][1].startswith("Continuing Test routine where you left off")
    d.run_until(100)
    assert d.said()[1][1] == "Step forward with your right leg."


def test_stale_speech_done_after_a_hush_is_ignored():
    d = Drive(CALF, speech_ms=5000).start()
    first_id = d.state.waiting_for
    d.intent("pause")
    state = d.state
    d.feed(core.SpeechDone(first_id))
    assert d.state == state


def test_tell_me_more_gives_the_longer_answer_for_the_last_topic():
    d = Drive(CALF).start()
    d.ctx = core.Context(**{**d.ctx.__dict__, "more": {"heat-or-ice": "Heat relaxes the muscle; ice tightens it."}})
    d.intent("more")
    assert d.said()[-1][1] == "Ask me a question first, for example: should I use heat or ice?"
    d.intent("ask", "heat-or-ice")
    d.intent("more")
    assert d.said()[-2][1] == "Heat relaxes the muscle; ice tightens it."
    assert d.said()[-1][1] == "Back to the stretch."


def test_spoken_commands_are_acknowledged_with_a_tone_explained_once():
    d = Drive(CALF).start()
    d.run_until_hold()
    actions = d.feed(core.Intent("pause", spoken=True))
    assert isinstance(actions[0], core.Hush)
    assert isinstance(actions[1], core.Cue) and actions[1].name == "understood"
    assert actions[2].text == "That tone means I heard you."
    assert d.said()[-1][1] == "Paused. Say resume when you are ready."
    actions = d.feed(core.Intent("time_left", spoken=True))
    assert isinstance(actions[0], core.Cue) and [type(a) for a in actions] == [core.Cue, core.Say]
    assert not any(isinstance(a, core.Cue) and a.name == "understood" for a in d.intent("where"))


def test_add_ten_seconds_extends_the_hold_and_its_counts():
    d = Drive(CALF).start()
    d.run_until_hold()
    start = d.records("hold_start")[0][0]
    d.run_until(start + 4000)
    d.intent("add_ten_seconds")
    assert d.said()[-1][1] == "10 seconds more. 16 seconds left."
    d.run_until(start + 30_000)
    assert [c["n"] for _, c in d.records("count")][:20] == list(range(1, 21))
    assert d.records("hold_end")[0] == (start + 20_000, {"held": 20.0, "seconds": 20})
    d.run_until_hold(2)
    assert d.state.added == 0            # the next hold has its own length again


def test_adding_time_outside_a_hold_says_when_it_works():
    d = Drive(CALF).start()
    d.intent("add_thirty_seconds")
    assert d.said()[-1][1] == "Extra time can be added during a hold."


def test_counting_style_can_be_changed_mid_hold():
    d = Drive(CALF).start()
    d.run_until_hold()
    start = d.records("hold_start")[0][0]
    d.run_until(start + 2500)
    d.intent("count_fives")
    assert d.said()[-1][1] == "Counting in fives."
    d.run_until(start + 10_000)
    assert [c["text"] for _, c in d.records("count")] == ["1", "2", "5", "3", "2", "1"]
    d.intent("count_none")
    d.run_until_hold(2)
    start = d.records("hold_start")[1][0]
    d.run_until(start + 10_000)
    assert len(d.records("count")) == 6 and d.records("hold_end")[1][1]["held"] == 10.0


def test_other_side_jumps_to_the_next_side_and_not_past_the_last():
    d = Drive(CALF).start()
    d.run_until_hold()
    d.intent("other_side")
    assert d.records("hold_end")[0][1]["early"] is True
    assert d.said()[-1][1] == "Step forward with your right leg."
    d.intent("other_side")
    assert d.said()[-1][1] == "This exercise has no other side to go to."


def test_help_says_what_matters_now_and_more_help_the_rest():
    d = Drive(CALF).start()
    d.intent("help")
    assert d.said()[-1][1].startswith("You can say next, back, repeat, or pause.")
    d.run_until_hold()
    d.intent("help")
    assert "add ten seconds" in d.said()[-1][1]
    d.intent("pause")
    d.intent("help")
    assert d.said()[-1][1].startswith("Say resume to carry on")
    d.intent("more_help")
    assert "other side" in d.said()[-1][1] and "it hurts" in d.said()[-1][1]
