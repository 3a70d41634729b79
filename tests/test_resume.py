"""The resume decision: which session a run continues, offers to continue, or leaves alone."""
from voicecoach.ports import SessionRecord
from voicecoach.resume import Resume, changed, decide

UNFINISHED = SessionRecord(7, "calf-stretch", "Calf stretch", "2026-12-01T09:30:00", 4, 20, 90.0, False, False)


def test_no_routine_named_offers_to_go_on_by_voice():
    assert decide(UNFINISHED, "calf-stretch", None, False, False, 10) == Resume(
        "calf-stretch", 4, 7, offer=True, unfinished=UNFINISHED)


def test_resume_asked_for_goes_on_without_an_offer():
    resume = decide(UNFINISHED, "other", "other", True, False, 10)
    assert (resume.routine_ref, resume.start_index, resume.resumed_from, resume.offer) == ("calf-stretch", 4, 7, False)


def test_no_offer_when_there_is_no_wait_for_start():
    assert not decide(UNFINISHED, "calf-stretch", None, False, False, 0).offer


def test_another_routine_named_starts_it_and_keeps_the_unfinished_one_for_a_hint():
    assert decide(UNFINISHED, "/home/u/neck.yaml", "neck.yaml", False, False, 10) == Resume(
        "/home/u/neck.yaml", unfinished=UNFINISHED)


def test_another_session_running_leaves_the_unfinished_one_to_it():
    assert decide(UNFINISHED, "calf-stretch", None, True, True, 10) == Resume("calf-stretch", notice="another_session")


def test_resume_with_nothing_unfinished_says_so():
    assert decide(None, "calf-stretch", None, True, False, 10).notice == "nothing_to_resume"
    assert decide(None, "calf-stretch", None, False, False, 10).notice is None


def test_a_routine_whose_length_changed_cannot_be_gone_on_with():
    resume = decide(UNFINISHED, "calf-stretch", None, False, False, 10)
    assert not changed(resume, 20) and changed(resume, 21)
    assert not changed(decide(UNFINISHED, "neck", "neck", False, False, 10), 21)  # not continued: nothing changed
