"""The session state machine, driven in simulated milliseconds."""
from dataclasses import replace

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


def test_pause_said_over_resuming_takes_the_resume_back():
    """"Pause" while the coach says "Resuming, 6 seconds left.": it stays paused and says so, and the end of the line
    it cut off does not start the hold again (it did: the hold ran on while the coach said "Still paused")."""
    d = Drive(CALF, speech_ms=500).start()
    d.run_until_hold()
    start = d.records("hold_start")[0][0]
    d.run_until(start + 4300)
    d.intent("pause")
    d.run_until(d.now + 3000)
    d.intent("resume")
    resuming = [a for _, a in d.actions if isinstance(a, core.Say)][-1]
    assert resuming.text == "Resuming, 6 seconds left."
    d.now += 200
    d.intent("pause")
    d.feed(core.SpeechDone(resuming.id))  # the player reports the end of the line the pause cut off
    assert d.state.mode == "paused"
    assert d.said()[-1][1] == "Paused. Say resume when you are ready."
    d.run_until(d.now + 30_000)
    assert [c["n"] for _, c in d.records("count")] == [1, 2, 3, 4]
    d.intent("resume")
    d.run_until(d.now + 10_000)
    assert d.records("hold_end")[0][1]["held"] == 10.0


def test_pause_while_paused_says_it_is_still_paused():
    d = Drive(CALF, speech_ms=500).start()
    d.run_until_hold()
    d.intent("pause")
    d.run_until(d.now + 3000)
    d.intent("pause")
    assert d.state.mode == "paused" and d.said()[-1][1] == "Still paused. Say resume to carry on, or stop to finish."


def test_next_ends_the_hold_early_and_moves_on():
    d = Drive(CALF).start()
    d.run_until_hold()
    start = d.records("hold_start")[0][0]
    d.run_until(start + 2500)
    d.intent("next")
    t, end = d.records("hold_end")[0]
    assert end == {"held": 2.5, "seconds": 10, "early": True}
    assert any(isinstance(a, core.Hush) for _, a in d.actions)
    assert d.said()[-1][1] == "Now your right side."
    d.run_until(d.now + 100)
    assert "Step forward with your right leg." in [text for _, text in d.said()[-2:]]


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
    assert d.said()[-3][1] == "Stopping here. Well done."
    assert d.said()[-2][1].startswith("You got to exercise 1 of 1")
    assert d.said()[-1][1] == "Your place is kept: next time you start voicecoach, say continue to carry on from here."
    assert d.state.mode == "ending"
    d.run_until(d.now + 3 * 300 + 100)  # the three closing lines
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


def test_a_question_during_a_hold_keeps_its_clock_running_then_says_how_long_is_left():
    d = Drive(CALF, speech_ms=1000).start()
    d.run_until_hold()
    start = d.records("hold_start")[0][0]
    d.run_until(start + 3000)
    d.intent("ask", "heat-or-ice")
    assert d.state.mode == "answering"
    assert d.said()[-1][1] == "This is general information, not medical advice. Use heat on a spasm."
    d.run_until(start + 4000)                    # one second of answer: the hold ran on
    assert d.state.mode == "running" and d.said()[-1][1] == "Back to the stretch: 6 seconds left."
    assert [c["n"] for _, c in d.records("count")] == [1, 2, 3]   # the count of 4 fell in the answer
    d.intent("ask", "heat-or-ice")
    assert d.said()[-1][1] == "Use heat on a spasm."   # the disclaimer is said once per session
    d.run_until(start + 30_000)
    assert d.records("hold_end")[0] == (start + 10_000, {"held": 10.0, "seconds": 10})


def test_a_hold_that_ends_during_an_answer_is_not_held_longer_and_the_coach_says_it_ended():
    d = Drive(CALF, speech_ms=9000).start()
    d.run_until_hold()
    start = d.records("hold_start")[0][0]
    d.run_until(start + 3000)
    d.intent("ask", "heat-or-ice")
    d.run_until(start + 12_000)
    t, end = d.records("hold_end")[0]
    assert t == start + 12_000 and end == {"held": 10.0, "seconds": 10, "during_answer": True}
    assert d.said()[-1][1] == "The hold ended while I was talking. That tone means the hold is over. And relax."
    d.run_to_end()
    assert len(d.records("hold_start")) == 2 and d.state.completed


def test_an_answer_while_holding_leads_with_one_sentence_and_tell_me_more_gives_the_rest():
    d = Drive(CALF, speech_ms=500, disclaimer="",
              answers={"heat-or-ice": "Use heat on a spasm. Cold makes it clench. Leave ice aside."}).start()
    d.run_until_hold()
    d.intent("ask", "heat-or-ice")
    assert d.said("answer")[-1][1] == "Use heat on a spasm. Say tell me more for the rest."
    d.intent("more")
    assert d.said("answer")[-1][1] == "Cold makes it clench. Leave ice aside."
    d.intent("more")
    assert d.said("answer")[-1][1] == "Heat relaxes the muscle; cold makes it clench."
    d.intent("pause")
    d.intent("ask", "heat-or-ice")                # not holding: the whole answer
    assert d.said("answer")[-1][1] == "Use heat on a spasm. Cold makes it clench. Leave ice aside."


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


def test_a_question_during_the_safety_advice_cuts_it_off_is_answered_at_once_and_offers_it_again():
    d = Drive(CALF, speech_ms=13_000).start()
    d.run_until_hold()
    d.intent("pain")
    d.run_until(d.now + 2000)  # the 13 s advice is being said
    actions = d.feed(core.Intent("time_left", spoken=True))
    assert isinstance(actions[0], core.Hush) and isinstance(actions[1], core.Cue) and actions[1].name == "understood"
    says = [a.text for a in actions if isinstance(a, core.Say)]
    assert says[0] == "10 seconds left, paused."
    assert says[1] == "Say repeat to hear the safety advice again."
    assert says[2] == "That tone means I heard you."  # the tone's explanation never in front of the answer
    d.run_until(d.now + 60_000)
    d.intent("repeat")
    assert "Ease off the stretch now" in d.said()[-1][1] and d.state.mode == "paused"


def test_the_safety_advice_said_to_its_end_is_not_offered_again():
    d = Drive(CALF, speech_ms=1000).start()
    d.run_until_hold()
    d.intent("pain")
    d.run_until(d.now + 5000)
    actions = d.intent("time_left")
    assert not any(isinstance(a, core.Say) and "safety advice" in a.text for a in actions)


def test_a_question_cuts_off_the_instruction_being_said_and_the_instruction_comes_again_after_the_answer():
    d = Drive(CALF, speech_ms=3000).start()
    d.run_until(d.now + 100)  # the opening line is being said; the session waits on it
    assert d.state.waiting_for is not None
    actions = d.intent("where")
    assert isinstance(actions[0], core.Hush) and isinstance(actions[-1], core.Say)
    d.run_to_end()
    texts = [text for _, text in d.said("instruction")]
    assert texts[0].startswith("Test routine.") and texts[1].startswith("Test routine.")  # said again, not skipped
    assert "Step forward with your left leg." in texts and d.state.completed


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
    assert [text for _, text in d.said()[1:3]] == ["Now your right side.", "Step forward with your right leg."]


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
    # the tone's explanation comes after the reply, never in front of it
    assert [a.text for a in actions if isinstance(a, core.Say)] == ["Paused. Say resume when you are ready.",
                                                                    "That tone means I heard you."]
    actions = d.feed(core.Intent("time_left", spoken=True))
    assert [type(a) for a in actions] == [core.Hush, core.Cue, core.Say]  # barge-in: the paused prompt is cut off
    assert not any(isinstance(a, core.Cue) and a.name == "understood" for a in d.intent("where"))


def test_a_tone_explained_once_is_remembered_for_the_users_next_sessions():
    d = Drive(CALF).start()
    d.run_until_hold()
    d.feed(core.Intent("pause", spoken=True))
    remembered = [a.value for _, a in d.actions if isinstance(a, core.RememberSetting) and a.name == "tones_explained"]
    assert remembered and "understood" in remembered[-1].split(",")
    later = Drive(CALF)  # the next session starts with what the config remembered
    later.state = replace(later.state, talk=replace(later.state.talk, cues_explained=frozenset(remembered[-1].split(","))))
    later.start()
    later.run_until_hold()
    later.feed(core.Intent("pause", spoken=True))
    assert not any("tone means" in text for _, text in later.said())  # neither the hold tone nor the heard tone
    assert not any(isinstance(a, core.RememberSetting) for _, a in later.actions)


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
    assert d.said()[-1][1] == "Now your right side."
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


def test_carry_on_go_on_keep_going_mean_continue_and_only_next_skip_move_on_skip():
    from voicecoach.intents import parse
    for words in ("carry on", "go on", "keep going"):
        assert parse(words).intent == "resume", words
        d = Drive(CALF, speech_ms=300).start()
        d.run_until_hold()
        start = d.records("hold_start")[0][0]
        d.run_until(start + 6000)
        d.intent(parse(words).intent)                 # during a hold: keep holding, and say so
        assert d.said()[-1][1] == "Keep holding, 4 seconds left."
        assert not d.records("hold_end") and d.state.timing
        d.intent("pause")
        d.run_until(d.now + 20_000)
        d.intent(parse(words).intent)                 # paused: resume
        assert d.state.mode == "paused" and d.said()[-1][1] == "Resuming, 4 seconds left."
        d.run_until(d.now + 10_000)
        assert d.records("hold_end")[0][1] == {"held": 10.0, "seconds": 10}
    for words in ("next", "skip", "move on"):
        assert parse(words).intent == "next", words
    for words in ("I've had enough", "I want to stop now", "that's enough"):
        assert parse(words).intent == "stop", words


SETUP = routine(exercise("Calf", say("Find something steady to lean on.", once=True),
                         say("Step forward with your {side} foot."), hold(10), say("Feet together."),
                         sides=("left", "right")))


def instructions(d: Drive) -> list[str]:
    return [text for _, text in d.said("instruction")]


def test_the_switch_of_sides_is_said_and_set_up_lines_for_both_sides_are_not_repeated():
    d = Drive(SETUP).start()
    d.run_to_end()
    texts = instructions(d)
    assert texts.count("Find something steady to lean on.") == 1
    right = texts.index("Now your right side.")
    assert texts[right + 1] == "Step forward with your right foot."
    assert texts.index("Feet together.") < right


def test_continuing_an_interrupted_session_starts_at_the_start_of_its_side_with_its_set_up():
    plan = core.build_plan(SETUP, Drive(SETUP).ctx.lines)
    right_hold = next(i for i, s in enumerate(plan) if s.side == "right" and s.kind == "hold")
    d = Drive(SETUP, start_index=right_hold).start()
    d.run_until_hold()
    texts = instructions(d)
    assert texts[0].startswith("Continuing Test routine where you left off")
    assert texts[1:4] == ["Now your right side.", "Find something steady to lean on.",
                          "Step forward with your right foot."]
    offered = Drive(SETUP, speech_ms=500, start_wait_ms=8000, offer_resume_at=right_hold).start()
    offered.intent("resume")
    offered.run_until_hold()
    assert "Find something steady to lean on." in instructions(offered)
    assert offered.records("step")[0][1]["index"] == right_hold - 3


def test_a_question_right_after_a_hold_ends_never_runs_the_hold_again():
    for interrupt in ("ask", "pause"):
        d = Drive(SETUP, speech_ms=1000).start()
        d.run_until_hold()
        start = d.records("hold_start")[0][0]
        d.run_until(start + 10_200)                 # the hold is over: "And relax." is being said
        assert d.records("hold_end") and d.said()[-1][1].endswith("And relax.")
        d.intent(interrupt, "heat-or-ice")
        if interrupt == "pause":
            d.intent("resume")
        d.run_until(d.now + 2500)
        assert len(d.records("hold_start")) == 1, interrupt
        assert "Feet together." in instructions(d)[-2:], interrupt
        hold = next(i for i, s in enumerate(d.state.plan) if s.kind == "hold")
        assert [f["index"] for _, f in d.records("step")].count(hold) == 1


def test_where_am_i_answers_what_is_true_in_every_mode_and_which_side_names_the_side():
    from tests.test_session_opening import with_choice
    menu = with_choice(choose_routine=True).start()
    menu.intent("where")
    assert menu.said("info")[-1][1] == "Choosing a routine. Say its name, or resume to carry on with Test routine."
    opening = Drive(SETUP, speech_ms=500, start_wait_ms=8000).start()
    opening.intent("where")
    assert opening.said("info")[-1][1] == "At the start of Test routine. Say start to begin."
    offer = Drive(SETUP, speech_ms=500, start_wait_ms=8000, offer_resume_at=4).start()
    offer.intent("where")
    assert offer.said("info")[-1][1].startswith("Last time, Test routine stopped at exercise 1 of 1.")
    d = Drive(SETUP).start()
    d.run_until_hold()
    d.intent("pause")
    d.intent("where")
    assert d.said("info")[-1][1] == "Exercise 1 of 1, Calf, left side. Paused."
    d.intent("which_side")
    assert d.said("info")[-1][1] == "Your left side."
    d.intent("resume")
    d.intent("other_side")
    d.intent("which_side")
    assert d.said("info")[-1][1] == "Your right side."
    from voicecoach.intents import parse
    assert parse("which leg am I on").intent == "which_side" and parse("which side").intent == "which_side"


def test_silence_while_paused_gets_reminders_at_growing_intervals_then_an_offer_to_stop_keeping_the_place():
    d = Drive(CALF, speech_ms=1000).start()
    d.run_until_hold()
    d.intent("pause")
    paused_at = d.now
    d.run_until(paused_at + 240_000)             # four minutes of silence
    reminders = [(t - paused_at, text) for t, text in d.said("info") if text.startswith("Still paused")]
    assert reminders == [(30_000, "Still paused. Say resume when you're ready."), (90_000, reminders[1][1]),
                         (210_000, reminders[2][1])]
    d.run_until(paused_at + 450_000)
    assert d.said("info")[-1] == (paused_at + 450_000, "We have been paused a while. Say stop to finish for now, and "
                                  "your place is kept for next time, or say resume to carry on.")
    d.run_until(paused_at + 3_600_000)
    assert len(d.records("reminder")) == 4 and d.state.mode == "paused"   # then quiet
    d.intent("stop")
    assert "Your place is kept" in d.said()[-1][1]


def test_words_while_paused_start_the_silence_again():
    d = Drive(CALF).start()
    d.run_until_hold()
    d.intent("pause")
    d.run_until(d.now + 25_000)
    d.intent("time_left")
    spoke = d.now
    d.run_until(spoke + 29_000)
    assert not d.records("reminder")
    d.run_until(spoke + 30_000)
    assert d.records("reminder")[0][0] == spoke + 30_000


ALL_CUES = frozenset({"halfway", "ten_left", "countdown"})


def test_long_holds_get_halfway_ten_seconds_left_and_a_final_countdown_in_every_counting_style():
    lines = Drive(CALF).ctx.lines
    each = dict(core.with_cues(core.count_schedule(30, "each"), 30, "each", ALL_CUES, lines))
    assert (each[15], each[20], each[27], each[28], each[29]) == ("Halfway.", "10 seconds left.", "3", "2", "1")
    assert 30 not in each and each[14] == "14"       # the end tone marks the last second
    fives = core.with_cues(core.count_schedule(30, "fives"), 30, "fives", ALL_CUES, lines)
    assert fives == ((5, "5"), (10, "10"), (15, "Halfway."), (20, "10 seconds left."), (25, "25"),
                     (27, "3"), (28, "2"), (29, "1"))
    none = core.with_cues((), 30, "none", ALL_CUES, lines)
    assert none == ((15, "Halfway."), (20, "10 seconds left."), (27, "3"), (28, "2"), (29, "1"))
    assert core.with_cues((), 20, "none", ALL_CUES, lines)[0] == (10, "Halfway. 10 seconds left.")
    assert core.with_cues((), 12, "none", ALL_CUES, lines) == ((9, "3"), (10, "2"), (11, "1"))  # short: no marks
    for off in ALL_CUES:                              # each can be turned off
        texts = [t for _, t in core.with_cues((), 30, "none", ALL_CUES - {off}, lines)]
        assert {"halfway": "Halfway.", "ten_left": "10 seconds left.", "countdown": "3"}[off] not in texts


def test_the_cues_are_said_on_time_in_a_session():
    d = Drive(routine(exercise("Long", hold(30, "none"))), cues=ALL_CUES).start()
    d.run_until_hold()
    start = d.records("hold_start")[0][0]
    d.run_until(start + 31_000)
    assert [(t - start, text) for t, text in d.said("count")] == [
        (15_000, "Halfway."), (20_000, "10 seconds left."), (27_000, "3"), (28_000, "2"), (29_000, "1")]


def test_movement_lines_get_time_before_the_next_line():
    d = Drive(SETUP, speech_ms=1000, move_ms=2000).start()
    d.run_until_hold()
    said = dict((text, t) for t, text in d.said())
    # a routine's own instruction is followed by two seconds of quiet; the coach's own lines are not
    assert said["Step forward with your left foot."] - said["Find something steady to lean on."] == 3000
    assert said["Find something steady to lean on."] - said["Exercise 1 of 1: Calf."] == 1000
    assert d.records("hold_start")[0][0] - said["Step forward with your left foot."] == 3000 + 1000


def test_wait_for_ready_asks_before_each_hold_and_waits_for_ready():
    d = Drive(SETUP, speech_ms=500, wait_for_ready=True).start()
    d.run_until(60_000)
    assert d.said()[-1][1] == "Say ready when you are in position." and d.state.mode == "waiting"
    assert not d.records("hold_start")
    d.intent("where")
    assert d.said()[-1][1] == "Exercise 1 of 1, Calf, left side. Waiting for you to say ready."
    d.intent("resume")                                # "ready"
    d.run_until(d.now + 1000)
    assert d.records("hold_start") and d.records("begin")[-1][1]["choice"] == "ready"
    d.run_until(d.now + 60_000)
    assert d.said()[-1][1] == "Say ready when you are in position." and len(d.records("hold_start")) == 1
