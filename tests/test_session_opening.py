"""The opening (waiting for "start"), the offer to continue an unfinished session, and verbosity."""
from voicecoach import session as core
from tests.fakes import Drive, exercise, hold, routine, say

CALF = routine(exercise("Calf", say("Step forward with your {side} leg."),
                        say("Breathe slowly.", detail=True), hold(10), sides=("left", "right"),
                        tip="Use heat afterwards."))
WAIT = 8000


def test_the_opening_says_the_routine_and_waits_for_start():
    d = Drive(CALF, speech_ms=500, start_wait_ms=WAIT).start()
    d.run_until(5000)
    opening = d.said("instruction")
    assert len(opening) == 1 and "help to hear what you can say" in opening[0][1] and "begin in 8 seconds" in opening[0][1]
    assert d.state.mode == "waiting" and not d.records("step")[1:]
    d.intent("resume")                      # "start" is one of resume's phrasings
    d.run_until(d.now + 600)
    assert d.records("begin")[0][1] == {"choice": "start", "by": "user"}
    assert d.state.mode == "running" and "Exercise 1 of 1: Calf." in [t for _, t in d.said("instruction")]


def test_silence_at_the_opening_starts_the_routine_after_the_wait():
    d = Drive(CALF, speech_ms=500, start_wait_ms=WAIT).start()
    d.run_until(500 + WAIT - 1)
    assert d.state.mode == "waiting"
    d.run_until(500 + WAIT)
    assert d.records("begin")[0] == (500 + WAIT, {"choice": "start", "by": "timeout"})
    assert d.state.mode == "running"


def test_start_said_over_the_opening_cuts_it_short():
    d = Drive(CALF, speech_ms=5000, start_wait_ms=WAIT).start()
    d.run_until(1000)
    actions = d.intent("resume")
    assert isinstance(actions[0], core.Hush) and d.state.mode == "running"


def test_pause_at_the_opening_waits_for_the_user_however_long():
    d = Drive(CALF, speech_ms=500, start_wait_ms=WAIT).start()
    d.run_until(1000)
    d.intent("pause")
    d.run_until(600_000)
    assert d.state.mode == "waiting" and not d.records("begin")
    assert "I will wait" in d.said("info")[-1][1]


def test_a_question_at_the_opening_is_answered_and_the_wait_starts_again():
    d = Drive(CALF, speech_ms=500, start_wait_ms=WAIT).start()
    d.run_until(1000)
    d.intent("ask", "heat-or-ice")
    d.run_until(1000 + WAIT)
    assert d.said("answer") and d.state.mode == "waiting"
    d.run_until(2000 + WAIT)
    assert d.records("begin")[0][1]["by"] == "timeout"


def test_help_at_the_opening_says_how_to_start():
    d = Drive(CALF, speech_ms=500, start_wait_ms=WAIT).start()
    d.intent("help")
    assert "Say start to begin" in d.said("info")[-1][1]


def test_an_unfinished_session_is_offered_and_continued_by_voice():
    d = Drive(CALF, speech_ms=500, start_wait_ms=WAIT, offer_resume_at=5).start()
    offer = d.said("instruction")[0][1]
    assert "stopped at exercise 1 of 1" in offer and "continue in 8 seconds" in offer
    d.run_until(1000)
    d.intent("resume")                      # "continue"
    d.run_until(3000)
    assert d.records("begin")[0][1] == {"choice": "resume", "by": "user"}
    assert d.records("step")[0][1]["index"] == 5
    assert d.said("instruction")[1][1].startswith("Continuing Test routine where you left off")


def test_start_over_at_the_offer_begins_from_the_opening_without_waiting_again():
    d = Drive(CALF, speech_ms=500, start_wait_ms=WAIT, offer_resume_at=5).start()
    d.run_until(1000)
    d.intent("back")                        # "start over"
    d.run_until(3000)
    assert d.records("begin")[0][1]["choice"] == "start_over"
    assert [f["index"] for _, f in d.records("step")][:2] == [0, 1]
    assert d.state.mode == "running"


def test_silence_at_the_offer_continues():
    d = Drive(CALF, speech_ms=500, start_wait_ms=WAIT, offer_resume_at=5).start()
    d.run_until(500 + WAIT + 600)
    assert d.records("begin")[0][1] == {"choice": "resume", "by": "timeout"}
    assert d.records("step")[0][1]["index"] == 5


def instructions(d: Drive) -> list[str]:
    return [text for _, text in d.said("instruction")]


def test_brief_skips_the_description_tips_and_detail_lines():
    d = Drive(CALF, verbosity="brief").start()
    d.run_to_end()
    said = instructions(d)
    assert said[0].startswith("Test routine. It takes") and "For tests." not in said[0]
    assert not any("Tip:" in t or "Breathe slowly" in t for t in said)


def test_normal_says_tips_but_not_detail_lines_and_detailed_says_both():
    normal, detailed = Drive(CALF).start(), Drive(CALF, verbosity="detailed").start()
    normal.run_to_end()
    detailed.run_to_end()
    assert "Tip: Use heat afterwards." in instructions(normal) and "Breathe slowly." not in instructions(normal)
    assert instructions(detailed).count("Breathe slowly.") == 2


def test_less_talking_by_voice_changes_what_comes_next_and_is_remembered():
    d = Drive(CALF).start()
    d.intent("brief")
    assert d.records("setting")[-1][1] == {"name": "verbosity", "value": "brief"}
    d.run_to_end()
    assert not any("Tip:" in t for t in instructions(d))


def test_more_detail_right_after_an_answer_means_tell_me_more():
    d = Drive(CALF, speech_ms=500).start()
    d.run_until_hold()
    d.intent("ask", "heat-or-ice")
    d.intent("detailed")
    assert d.said("answer")[-1][1] == "Heat relaxes the muscle; cold makes it clench."
    assert d.state.verbosity == "normal"


def test_back_skips_lines_that_are_not_said_at_this_verbosity():
    d = Drive(CALF, speech_ms=500, verbosity="brief").start()
    d.run_until_hold(2)
    d.run_until(d.now + 5000)
    d.intent("back")
    d.intent("back")
    texts = instructions(d)
    assert "Breathe slowly." not in texts


SOLEUS = routine(exercise("Soleus", say("Bend your knee."), hold(5)), name="Soleus stretch")


def with_choice(**context) -> Drive:
    from tests.fakes import lines
    plans = {"calf": ("Test routine", core.build_plan(CALF, lines())),
             "soleus": ("Soleus stretch", core.build_plan(SOLEUS, lines()))}
    return Drive(CALF, speech_ms=500, start_wait_ms=WAIT, routines=plans, **context)


def test_routine_by_voice_lists_the_routines_and_runs_the_one_named():
    d = with_choice(choose_routine=True).start()
    assert "Which routine would you like: Test routine or Soleus stretch?" in d.said("instruction")[0][1]
    d.run_until(1000)
    d.intent("choose_routine", "soleus")
    d.run_to_end()
    assert d.records("routine")[0][1] == {"routine": "soleus", "name": "Soleus stretch", "steps": 5}
    texts = instructions(d)
    assert texts[1].startswith("Soleus stretch.") and "Bend your knee." in texts
    assert not d.records("begin") and d.state.completed


def test_silence_at_the_routine_menu_keeps_the_routine_and_starts_it():
    d = with_choice(choose_routine=True).start()
    d.run_until(500 + WAIT + 600)
    assert d.records("begin")[0][1] == {"choice": "routine", "by": "timeout"}
    assert instructions(d)[1].startswith("Test routine.")


def test_change_routine_mid_hold_offers_the_menu_and_resume_restarts_the_step():
    d = with_choice().start()
    d.run_until(9000)
    d.intent("resume")
    d.run_until_hold()
    actions = d.intent("change_routine")
    assert isinstance(actions[0], core.Hush) and d.state.mode == "waiting"
    d.intent("choose_routine", "no-such-routine")
    assert d.state.mode == "waiting"
    d.intent("resume")
    assert d.state.mode == "running" and d.records("step")[-1][1]["kind"] == "hold"


def test_a_routine_name_outside_the_menu_does_nothing():
    d = with_choice().start()
    d.run_until(9000)
    d.intent("resume")
    d.run_until_hold()
    d.intent("choose_routine", "soleus")
    assert not d.records("routine")


def test_a_spoken_stop_at_the_opening_is_confirmed_first_a_typed_one_is_not():
    d = Drive(CALF, speech_ms=500, start_wait_ms=WAIT).start()
    d.run_until(1000)
    d.feed(core.Intent("stop", spoken=True))
    assert d.state.mode == "waiting" and "Say stop again" in d.said("info")[-1][1]
    d.feed(core.Intent("stop", spoken=True))
    assert d.state.mode == "ending" and d.said()[-1][1] == "Stopping here. Well done."  # nothing to keep yet
    typed = Drive(CALF, speech_ms=500, start_wait_ms=WAIT).start()
    typed.intent("stop")
    assert typed.state.mode == "ending"


def test_back_to_the_opening_says_it_again_without_waiting_again():
    d = Drive(CALF, speech_ms=500, start_wait_ms=WAIT).start()
    d.run_until(600)
    d.intent("resume")
    d.intent("back")
    assert d.records("step")[-1][1]["index"] == 0
    d.run_until(d.now + 600)
    assert d.state.mode == "running" and d.records("step")[-1][1]["index"] == 1


def test_stop_and_it_hurts_are_said_at_the_start_of_every_session_at_every_verbosity():
    for verbosity in ("brief", "normal", "detailed"):
        for start_index in (0, 5):
            d = Drive(CALF, verbosity=verbosity, start_index=start_index).start()
            first = d.said("instruction")[0][1]
            assert "say it hurts" in first and "Say stop" in first, (verbosity, start_index, first)


def test_every_short_help_names_stop_and_it_hurts():
    helps = []
    d = Drive(CALF, speech_ms=500, start_wait_ms=WAIT).start()
    d.intent("help")                                         # the opening
    helps.append(d.said("info")[-1][1])
    d.intent("resume")
    d.run_until(d.now + 600)
    d.intent("help")                                         # an instruction
    helps.append(d.said("info")[-1][1])
    d.run_until_hold()
    d.intent("help")                                         # a hold
    helps.append(d.said("info")[-1][1])
    d.intent("pause")
    d.intent("help")                                         # paused
    helps.append(d.said("info")[-1][1])
    offer = Drive(CALF, speech_ms=500, start_wait_ms=WAIT, offer_resume_at=5).start()
    offer.intent("help")                                     # the offer to continue
    helps.append(offer.said("info")[-1][1])
    menu = with_choice(choose_routine=True).start()
    menu.intent("help")                                      # the routine menu
    helps.append(menu.said("info")[-1][1])
    for text in helps:
        assert "stop" in text and "it hurts" in text, text


def test_a_confirmation_the_coach_asks_waits_for_its_answer():
    d = Drive(CALF, speech_ms=500, start_wait_ms=WAIT).start()
    d.run_until(WAIT - 100)                  # "start", heard as "stop", just before the opening's wait ends
    d.feed(core.Intent("stop", spoken=True))
    d.run_until(WAIT + 60_000)
    assert d.state.mode == "waiting" and not d.records("begin")
    assert d.said()[-1][1].startswith("Did you say stop?")
    d.feed(core.Intent("resume", spoken=True))
    assert d.records("begin")[0][1] == {"choice": "start", "by": "user"}


def test_a_stop_heard_while_the_opening_is_still_said_cuts_it_off_and_its_question_waits_for_the_answer():
    d = Drive(CALF, speech_ms=5000, start_wait_ms=WAIT).start()
    d.run_until(1000)                        # the opening line is still being said
    d.feed(core.Intent("stop", spoken=True))
    assert d.said()[-1][1].startswith("Did you say stop?")
    d.run_until(WAIT + 60_000)               # the opening's end, and long after: nothing starts the routine
    assert d.state.mode == "waiting" and not d.records("begin")
    d.feed(core.Intent("stop", spoken=True))
    d.run_to_end()
    assert d.state.mode == "ended" and not d.records("begin")


def test_one_length_estimate_from_the_plan_at_the_session_s_verbosity_matches_the_session_within_ten_percent():
    from voicecoach.routine import resolve_routine
    import re
    for routine_id in ("calf-stretch", "towel-calf-stretch"):
        bundled = resolve_routine(routine_id, None)
        estimates = {}
        for verbosity in ("brief", "normal", "detailed"):
            d = Drive(bundled, wpm=180, verbosity=verbosity, speech_wpm=180, move_ms=2000,
                      cues=frozenset({"halfway", "ten_left", "countdown"}))
            d.start()
            said = d.said("instruction")[0][1]
            m = re.search(r"It takes about (\d+) minutes? and (\d+) seconds", said)
            estimates[verbosity] = int(m[1]) * 60 + int(m[2])
            d.run_to_end()
            real = d.now / 1000
            assert abs(estimates[verbosity] - real) <= 0.1 * real, (routine_id, verbosity, estimates, real)
        assert estimates["brief"] < estimates["normal"] < estimates["detailed"]


def test_how_long_left_uses_the_same_estimate():
    d = Drive(CALF, wpm=180, speech_wpm=180, move_ms=2000)
    d.start()
    opening = d.said("instruction")[0][1]
    d.intent("time_left")
    assert d.said("info")[-1][1].lower() == opening.split("It takes ")[1].split(".")[0] + " left in the routine."
    left = core.estimate_ms(d.state, d.ctx)
    d.run_to_end()
    assert abs(left - d.now) <= 0.1 * d.now
