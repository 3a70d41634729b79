"""Rounds: an exercise's steps done several times over, each round on every side, announced by round."""
from dataclasses import replace

from voicecoach import session as core
from voicecoach.package_data import lines
from tests.fakes import Drive, exercise, hold, routine, say

THREE_ROUNDS = routine(replace(exercise("Calf", say("Step your {side} foot back."), hold(5),
                                        sides=("left", "right"), tip="Use heat afterwards."), rounds=3),
                       exercise("Ankle circles", say("Circle your ankle."), hold(3)))


def test_the_plan_runs_every_side_in_each_round_and_announces_each_round():
    plan = core.build_plan(THREE_ROUNDS, lines())
    calf = [(s.round, s.side, s.text) for s in plan[1:] if s.exercise == 0 and s.kind == "say"]
    assert calf == [(0, "", "Exercise 1 of 2: Calf."),
                    *[step for n in (1, 2, 3) for step in [
                        (n, "", f"Round {n} of 3."),
                        (n, "left", "Step your left foot back."), (n, "right", "Now your right side."),
                            (n, "right", "Step your right foot back.")]],
                    (0, "", "Tip: Use heat afterwards.")]
    assert [s.round for s in plan if s.kind == "hold" and s.exercise == 0] == [1, 1, 2, 2, 3, 3]
    assert all(s.round == 0 for s in plan if s.exercise == 1)   # an exercise without rounds is unchanged


def test_an_exercise_without_rounds_has_the_same_plan_as_before():
    one = routine(exercise("Calf", say("Step your {side} foot back."), hold(5), sides=("left", "right")))
    assert core.build_plan(one, lines()) == core.build_plan(routine(replace(one.exercises[0], rounds=1)), lines())
    assert not any(s.text.startswith("Round") for s in core.build_plan(one, lines()))


def test_round_two_of_three_is_said_when_the_second_round_starts():
    d = Drive(THREE_ROUNDS, speech_ms=500).start()
    d.run_until_hold(2)                        # round 1, right side
    assert "Round 2 of 3." not in [text for _, text in d.said()]
    end_of_round_one = d.records("hold_start")[1][0] + 5000
    d.run_until_hold(3)                        # round 2, left side
    said = [(t, text) for t, text in d.said("instruction")]
    at = [text for _, text in said].index("Round 2 of 3.")
    assert said[at][0] >= end_of_round_one
    assert [text for _, text in said[at - 1:at + 2]] == ["And relax.", "Round 2 of 3.", "Step your left foot back."]
    d.run_to_end()
    texts = [text for _, text in d.said("instruction")]
    assert [t for t in texts if t.startswith("Round")] == ["Round 1 of 3.", "Round 2 of 3.", "Round 3 of 3."]
    assert len(d.records("hold_start")) == 7 and d.state.completed


def test_where_am_i_says_the_round():
    d = Drive(THREE_ROUNDS, speech_ms=500).start()
    d.run_until_hold(4)                        # round 2, right side
    d.intent("where")
    assert d.said()[-1][1] == "Exercise 1 of 2, Calf, right side, round 2 of 3. Holding, 5 seconds left."
    d.run_until_hold(7)                        # the second exercise has no rounds
    d.intent("where")
    assert d.said()[-1][1].startswith("Exercise 2 of 2, Ankle circles. Holding")


def test_the_length_of_the_routine_counts_every_round():
    one_round = replace(THREE_ROUNDS, exercises=(replace(THREE_ROUNDS.exercises[0], rounds=1),
                                                 THREE_ROUNDS.exercises[1]))
    three, one = Drive(THREE_ROUNDS).start(), Drive(one_round).start()
    extra = core.estimate_ms(three.state, three.ctx, 0) - core.estimate_ms(one.state, one.ctx, 0)
    # two more rounds of the first exercise: 2 x 2 sides x a 5 s hold, and their lines said
    assert extra >= 2 * 2 * 5000
    three.run_to_end()
    one.run_to_end()
    assert three.now - one.now >= 2 * 2 * 5000
