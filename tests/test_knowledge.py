"""Knowledge base content, question matching, and the `ask` command's output."""
import io
import json
from pathlib import Path

import pytest
import yaml

from voicecoach import knowledge, knowledge_text
from voicecoach.commands.ask import ask_command
from voicecoach.intents import parse

TOPIC_IDS = ("heat-or-ice", "how-to-heat", "cramp-causes", "spasm-symptoms", "referred-pain",
             "calf-muscle", "why-stretch", "hold-time", "see-professional", "prevent-cramps")
QUESTION_SETS = Path(__file__).resolve().parent.parent / "benchmarks" / "questions"


def test_every_public_topic_is_present_and_complete():
    kb = knowledge.load()
    assert tuple(kb.topics) == TOPIC_IDS
    for topic in kb.topics.values():
        assert topic.answer and topic.more and topic.source
        assert len(topic.examples) >= 8, topic.id
    assert "Urban Health HQ" in kb.source
    assert "not medical advice" in kb.disclaimer


def test_answers_are_short_enough_to_speak():
    for topic in knowledge.load().topics.values():
        sentences = [s for s in topic.answer.replace("?", ".").split(".") if s.strip()]
        assert 1 <= len(sentences) <= 3, topic.id
        assert "e.g" not in topic.answer and "\n" not in topic.answer


def test_heat_or_ice_explains_ice_and_fresh_injury():
    text = knowledge.load().topics["heat-or-ice"].answer.lower()
    assert "heat" in text and "ice" in text and "swelling" in text


def test_see_professional_names_red_flags():
    text = knowledge.load().topics["see-professional"].answer.lower()
    for flag in ("swollen", "red", "warm", "journey", "operation", "does not ease", "doctor"):
        assert flag in text


def held_out(name: str) -> list[tuple[str, str | None]]:
    """(question, topic or None) from a question set of benchmarks/questions, written apart from knowledge.yaml."""
    data = yaml.safe_load((QUESTION_SETS / f"{name}.yaml").read_text("utf-8"))
    return [(q, topic) for topic, questions in data["in_scope"].items() for q in questions] + \
        [(q, None) for q in data["out_of_scope"]]


@pytest.mark.slow
def test_held_out_questions_get_their_topic_and_out_of_scope_ones_get_none():
    # heldout7 is one of the benchmark's tuning sets, never the sealed heldout8 its figures are reported on. The
    # classifier learns from the shipped example vectors; the questions are embedded in one batch. Measured when
    # written: in scope 97.0% (every topic 90% or more), out of scope 97.5%; the floors leave room for small changes.
    cases = held_out("heldout7")
    got = knowledge.topics_of([question for question, _ in cases])
    by_topic: dict[str | None, list[bool]] = {}
    for (_, topic_id), found in zip(cases, got):
        by_topic.setdefault(topic_id, []).append(found == topic_id)
    wrong = [(question, topic_id, found) for (question, topic_id), found in zip(cases, got) if found != topic_id]
    in_scope = [right for topic_id, rights in by_topic.items() if topic_id is not None for right in rights]
    assert set(by_topic) == {*TOPIC_IDS, None}
    assert sum(in_scope) / len(in_scope) >= 0.93, wrong
    assert sum(by_topic[None]) / len(by_topic[None]) >= 0.93, wrong
    assert all(sum(rights) / len(rights) >= 0.8 for rights in by_topic.values()), wrong


@pytest.mark.parametrize("question, topic_id", [
    ("hot or cold?", "heat-or-ice"),
    ("should I ice it", "heat-or-ice"),
    ("shoud I use ice or heat", "heat-or-ice"),
    ("where does the hot water bottle go", "how-to-heat"),
    ("why do I keep getting cramps in my calf", "cramp-causes"),
    ("what dose a spasm feel like", "spasm-symptoms"),
    ("why is there pain in the arch of my foot", "referred-pain"),
    ("what job does the gastrocnemius have", "calf-muscle"),
    ("why shuold I strech", "why-stretch"),
    ("how many seconds on each leg", "hold-time"),
    ("my calf looks red and puffy", "see-professional"),
    ("how can I avoid leg cramps", "prevent-cramps"),
])
def test_paraphrases_and_typos_match(question, topic_id):
    assert knowledge.match_question(question)[0] == topic_id


@pytest.mark.parametrize("question, topic_id", [
    ("what sets off a charley horse", "cramp-causes"),
    ("does a hot water bottle go behind the calf", "how-to-heat"),
    ("which muscle lets me point my toes", "calf-muscle"),
    ("how do I stop my calves from cramping", "prevent-cramps"),
])
def test_phrases_are_read_as_one_concept(question, topic_id):
    assert knowledge.match_question(question)[0] == topic_id


@pytest.mark.parametrize("question", ["can I use a heat pack on my neck", "how long do I hold a shoulder stretch",
                                      "how many paracetamol a day", "what are the symptoms of a cold"])
def test_near_misses_about_other_body_parts_or_medicines_give_no_topic(question):
    assert knowledge.match_question(question)[0] is None


@pytest.mark.parametrize("question, topic_id", [
    ("my calf is swollen after my hip operation", "see-professional"),
    ("my calf is cramping and my chest hurts", "see-professional"),
    ("can a tight calf cause pain in my ankle", "referred-pain"),
])
def test_another_body_part_beside_the_calf_is_only_context(question, topic_id):
    assert knowledge.match_question(question)[0] == topic_id


@pytest.mark.parametrize("question", ["does ibuprofen help a calf spasm", "why does my stomach cramp",
                                      "how long should I hold a hamstring stretch on each leg"])
def test_medicines_and_cramps_elsewhere_give_no_topic(question):
    assert knowledge.match_question(question)[0] is None


@pytest.mark.parametrize("word, corrected", [("strech", "stretch"), ("pause", "pause"), ("child", "child"),
                                              ("farming", "farming")])
def test_only_words_missing_from_the_english_dictionary_are_spell_corrected(word, corrected):
    assert knowledge._corrected(word) == corrected


@pytest.mark.parametrize("question", ["pause", "can my child do these stretches", "what is a calf in farming",
                                      "what causes headaches", "what causes back spasms"])
def test_real_words_are_not_corrected_into_a_topic(question):
    assert knowledge.match_question(question)[0] is None


def test_the_grammars_politeness_words_do_not_change_a_questions_word_scores_or_topic():
    plain, polite = "what does referred pain mean", "go ahead and what does referred pain mean thank you"
    assert knowledge._word_scores(polite) == knowledge._word_scores(plain)
    assert knowledge.match_question(polite)[0] == knowledge.match_question(plain)[0] == "referred-pain"


@pytest.mark.parametrize("question", ["who are you", "why?", "how?"])
def test_question_words_alone_give_no_topic(question):
    assert knowledge._word_scores(question)[None] == 1.0
    assert knowledge.match_question(question)[0] is None


@pytest.mark.parametrize("words", [("calf's", "calf"), ("running", "run"), ("swimming", "swim"),
                                   ("injuries", "injury"), ("soleus", "soleus"), ("illness", "illness")])
def test_stem_gives_inflections_one_form(words):
    word, stem = words
    assert knowledge_text.stem(word) == stem


def test_possessive_and_generic_words_still_match():
    assert knowledge.match_question("what is the calf's job")[0] == "calf-muscle"
    assert knowledge.match_question("what are some ways to keep calf cramps away")[0] == "prevent-cramps"


def test_scores_are_between_zero_and_one():
    for question in ("heat or ice", "what's the weather", "my calf is hot and red", "xyzzy"):
        assert all(0.0 <= score <= 1.0 for score in knowledge.scores(question).values())


def test_more_gives_the_longer_answer():
    topic = knowledge.load().topics["hold-time"]
    assert knowledge.more("hold-time") == topic.more != topic.answer


@pytest.mark.parametrize("question", ["what's the weather like", "sing me a song", "xyzzy", "?"])
def test_unrelated_questions_give_no_topic(question):
    assert knowledge.match_question(question)[0] is None


def test_answer_record_for_out_of_scope_uses_polite_reply():
    record = knowledge.answer("who won the cup final")
    assert record == {"question": "who won the cup final", "topic": None,
                      "answer": knowledge.load().out_of_scope, "confidence": record["confidence"]}


def test_intent_parser_keeps_commands_and_routes_questions():
    assert parse("how long left", knowledge.match_question).intent == "time_left"
    assert parse("next", knowledge.match_question).intent == "next"
    heard = parse("should I use heat or ice", knowledge.match_question)
    assert (heard.intent, heard.topic) == ("ask", "heat-or-ice")


def test_ask_command_json_lines_from_stdin():
    out = io.StringIO()
    stdin = io.StringIO("hot or cold?\n\nwhat's the time\n")
    assert ask_command(None, read_stdin=True, as_json=True, out=out, stdin=stdin) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [set(r) for r in records] == [{"question", "topic", "answer", "confidence"}] * 2
    assert [r["topic"] for r in records] == ["heat-or-ice", None]
    assert records[0]["answer"] == knowledge.load().topics["heat-or-ice"].answer
    assert all(0.0 <= r["confidence"] <= 1.0 for r in records)


def test_ask_command_plain_prints_answer_text():
    out = io.StringIO()
    assert ask_command(["how long should I hold each stretch"], read_stdin=False, as_json=False, out=out) == 0
    assert out.getvalue() == knowledge.load().topics["hold-time"].answer + "\n"


def test_ask_command_without_a_question_fails():
    assert ask_command([], read_stdin=False, as_json=True, out=io.StringIO()) == 2
