"""End to end: a whole session by voice alone, played into the private microphone and recorded from the speaker."""
from tests.handsfree import SCRIPT, run_script


def test_a_whole_session_by_voice_in_a_voice_other_than_the_coach_s(tmp_path, pulse):
    result = run_script(tmp_path, voice="en-us+m3", speed=150, noise_db=-60)
    missing = [step.name for step in SCRIPT if step.name not in result.attempts]
    assert not missing, (missing, result.events[-10:], result.output[-2000:])
    assert result.sounded == {step.name: True for step in SCRIPT}, result.sounded
    events = result.events
    assert [e["choice"] for e in events if e["event"] == "begin"] == ["start"]
    answer = next(e for e in events if e["event"] == "speech_start" and e["kind"] == "answer")
    assert "ice" in answer["text"]
    holds = [e for e in events if e["event"] == "hold_end"]
    assert holds[0]["early"] and holds[0]["held"] < 40
    assert events[-1]["event"] == "session_end" and events[-1]["completed"] is False


def test_the_hands_free_scenarios_in_simulated_time():
    from tests.handsfree import SCENARIOS
    results = [scenario() for scenario in SCENARIOS]
    assert {r.name: r.problems for r in results} == {r.name: [] for r in results}, [r.heard for r in results]
