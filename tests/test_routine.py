"""Routine loader: the model it builds, every kind of mistake it reports, hostile input, lookup."""
from __future__ import annotations

import textwrap

import pytest

from voicecoach.routine import (
    Exercise, Routine, RoutineError, Step, bundled_routine_ids, bundled_routine_path,
    load_routine_file, load_routine_text, resolve_routine,
)

VALID = """\
name: Calf stretch
about: Eases calf spasms and tightness.
source: "A clinic guide"
exercises:
  - name: Standing calf stretch
    sides: [left, right]
    steps:
      - say: Step forward with your {side} leg.
      - hold: 30
        count: fives
      - rest: 5
    tip: Apply a heat pack afterwards.
"""


EXERCISES = "exercises:\n  - name: E\n    steps: [{rest: 5}]\n"   # a valid rest of a routine, for mistakes above it


def load(text: str | bytes) -> Routine:
    return load_routine_text(text, "calf.yaml", "calf")


def error(text: str | bytes) -> str:
    with pytest.raises(RoutineError) as caught:
        load(text)
    return str(caught.value)


def routine_with_steps(steps: str, sides: str = "") -> str:
    """A valid routine around the given step lines (indented under `steps:`); steps start on line 6."""
    return ("name: R\nexercises:\n  - name: E\n" + (f"    sides: {sides}\n" if sides else "    tip: Fine.\n")
            + "    steps:\n" + textwrap.indent(textwrap.dedent(steps), "      "))


# ---- the model ---------------------------------------------------------------------------

def test_valid_routine_builds_the_model():
    assert load(VALID) == Routine(
        id="calf", name="Calf stretch", about="Eases calf spasms and tightness.", source="A clinic guide",
        exercises=(Exercise(
            name="Standing calf stretch", sides=("left", "right"), tip="Apply a heat pack afterwards.",
            steps=(Step("say", text="Step forward with your {side} leg."),
                   Step("hold", seconds=30, count="fives"),
                   Step("rest", seconds=5))),))


def test_optional_fields_default_and_hold_counts_each_second():
    routine = load("name: R\nexercises:\n  - name: E\n    steps:\n      - hold: 10\n")
    assert routine == Routine("calf", "R", (Exercise("E", (Step("hold", seconds=10, count="each"),)),))


def test_bytes_with_utf8_bom_and_crlf_load_like_text():
    assert load(b"\xef\xbb\xbf" + VALID.replace("\n", "\r\n").encode()) == load(VALID)


def test_texts_are_collapsed_to_single_spaces_and_plain_scalars_kept_as_written():
    routine = load("name: 1984\nexercises:\n  - name: E\n    steps:\n      - say: |\n          Yes,\n          twice.\n"
                   "      - say: yes\n")
    assert routine.name == "1984"
    assert [s.text for s in routine.exercises[0].steps] == ["Yes, twice.", "yes"]


def test_bounds_of_seconds_are_accepted():
    steps = load(routine_with_steps("- hold: 1\n- hold: 600\n- rest: 1\n- rest: 600\n")).exercises[0].steps
    assert [s.seconds for s in steps] == [1, 600, 1, 600]


# ---- each kind of mistake, with its exact message ------------------------------------------

def test_missing_name():
    assert error("about: x\nexercises:\n  - name: E\n    steps: [{rest: 5}]\n") == \
        'calf.yaml:1:1: the routine needs a name (add "name: ..." at the top level)'


def test_missing_exercises():
    assert error("name: R\n") == \
        'calf.yaml:1:1: the routine needs exercises (add "exercises:" with a list of exercises)'


def test_empty_exercises_list():
    assert error("name: R\nexercises: []\n") == "calf.yaml:2:12: exercises must list at least one exercise"


def test_exercises_with_nothing_after_the_key():
    assert error("name: R\nexercises:\n") == "calf.yaml:2:1: exercises must list at least one exercise"


def test_exercises_not_a_list():
    assert error("name: R\nexercises:\n  name: E\n  steps: [{rest: 5}]\n") == \
        'calf.yaml:3:3: exercises must be a list, with each exercise starting with "- name: ..."; ' \
        "got a mapping (key: value lines)"


def test_exercise_without_steps():
    assert error("name: R\nexercises:\n  - name: E\n") == \
        'calf.yaml:3:5: the exercise needs steps (add "steps:" with a list of say, hold and rest items)'


def test_exercise_without_name():
    assert error("name: R\nexercises:\n  - steps: [{rest: 5}]\n") == \
        'calf.yaml:3:5: the exercise needs a name (add "name: ..." to it)'


def test_step_with_two_kinds():
    assert error(routine_with_steps("- say: Breathe.\n  hold: 30\n")) == \
        'calf.yaml:7:9: a step does one thing, but this one has both "say" and "hold"; put each in its own "- " item'


def test_step_with_no_kind():
    assert error(routine_with_steps("- count: each\n")) == \
        'calf.yaml:6:9: the step needs one of "say: ...", "hold: seconds" or "rest: seconds"'


def test_step_written_as_plain_text_suggests_say():
    assert error(routine_with_steps("- Breathe out.\n")) == \
        'calf.yaml:6:9: a step must be one of "say: ...", "hold: 30" or "rest: 5", got "Breathe out." ' \
        '(to speak it, write "- say: Breathe out.")'


@pytest.mark.parametrize("text, expected", [
    ("nmae: R\n" + EXERCISES, 'calf.yaml:1:1: unknown key "nmae" in the routine; did you mean "name"?'),
    ("name: R\nexercices: []\n", 'calf.yaml:2:1: unknown key "exercices" in the routine; did you mean "exercises"?'),
    ("name: R\ncolour: red\n" + EXERCISES,
     'calf.yaml:2:1: unknown key "colour" in the routine; allowed keys are name, about, source, exercises'),
    ("name: R\nexercises:\n  - name: E\n    side: [left]\n    steps: [{rest: 5}]\n",
     'calf.yaml:4:5: unknown key "side" in an exercise; did you mean "sides"?'),
    (routine_with_steps("- sya: Hello.\n"), 'calf.yaml:6:9: unknown key "sya" in a step; did you mean "say"?'),
    (routine_with_steps("- hold: 30\n  Count: each\n"), 'calf.yaml:7:9: unknown key "Count" in a step; did you mean "count"?'),
])
def test_unknown_key_at_any_level_with_did_you_mean(text, expected):
    assert error(text) == expected


@pytest.mark.parametrize("step, expected", [
    ("- hold: 0\n", "calf.yaml:6:15: hold must be a number of seconds between 1 and 600, got 0"),
    ("- hold: 601\n", "calf.yaml:6:15: hold must be a number of seconds between 1 and 600, got 601"),
    ("- hold: -5\n", "calf.yaml:6:15: hold must be a number of seconds between 1 and 600, got -5"),
    ("- hold: 99999999999999999999999\n",
     "calf.yaml:6:15: hold must be a number of seconds between 1 and 600, got 99999999999999999999999"),
    ("- rest: 0\n", "calf.yaml:6:15: rest must be a number of seconds between 1 and 600, got 0"),
    ("- rest: 700\n", "calf.yaml:6:15: rest must be a number of seconds between 1 and 600, got 700"),
])
def test_hold_and_rest_out_of_range(step, expected):
    assert error(routine_with_steps(step)) == expected


def test_hold_as_a_word():
    assert error(routine_with_steps("- hold: thirty\n")) == \
        'calf.yaml:6:15: hold must be a number of seconds between 1 and 600, got "thirty"'


def test_hold_as_a_quoted_number_says_remove_the_quotes():
    assert error(routine_with_steps('- hold: "30"\n')) == \
        'calf.yaml:6:15: hold must be a number of seconds between 1 and 600, got "30" (remove the quotes)'


@pytest.mark.parametrize("value", ["yes", "no", "true", "on"])
def test_hold_as_a_yes_no_value_is_not_a_number(value):
    assert error(routine_with_steps(f"- hold: {value}\n")) == \
        f"calf.yaml:6:15: hold must be a number of seconds between 1 and 600, got {value}"


@pytest.mark.parametrize("value", ["30.5", "0x1e", "1:30", "1_0"])
def test_hold_must_be_a_plain_whole_number(value):
    assert error(routine_with_steps(f"- hold: {value}\n")) == \
        f"calf.yaml:6:15: hold must be a whole number of seconds between 1 and 600, written like 30, got {value}"


def test_hold_with_nothing():
    assert error(routine_with_steps("- hold:\n")) == \
        "calf.yaml:6:14: hold must be a number of seconds between 1 and 600, got nothing"


@pytest.mark.parametrize("value, shown", [("every", '"every"'), ("5", "5"), ("no", "no"), ("[each]", "a list")])
def test_count_not_one_of_the_styles(value, shown):
    assert error(routine_with_steps(f"- hold: 30\n  count: {value}\n")) == \
        f"calf.yaml:7:16: count must be one of each, fives, none, got {shown}"


@pytest.mark.parametrize("kind, value", [("say", "Breathe."), ("rest", "5")])
def test_count_on_a_say_or_rest_step(kind, value):
    assert error(routine_with_steps(f"- {kind}: {value}\n  count: each\n")) == \
        f'calf.yaml:7:9: "count" only goes with a hold step; remove it from this {kind} step'


@pytest.mark.parametrize("sides, expected", [
    ("left", 'calf.yaml:4:12: sides must be a list of side names such as [left, right], got "left"'),
    ("[]", "calf.yaml:4:12: sides must be a list of side names such as [left, right], got a list"),
    ("[left, '']", 'calf.yaml:4:19: each side must be a name such as left or right, got ""'),
    ("[left, [right]]", "calf.yaml:4:19: each side must be a name such as left or right, got a list"),
    ("[left, ~]", "calf.yaml:4:19: each side must be a name such as left or right, got nothing"),
])
def test_sides_not_a_list_of_non_empty_names(sides, expected):
    assert error(routine_with_steps("- rest: 5\n", sides=sides)) == expected


def test_duplicate_sides():
    assert error(routine_with_steps("- rest: 5\n", sides="[left, right, Left]")) == \
        'calf.yaml:4:26: side "Left" is listed twice; list each side once, ' \
        'and add "rounds: 2" to the exercise to do every side again'


def test_side_placeholder_without_sides():
    assert error(routine_with_steps("- say: Lift your {side} foot.\n")) == \
        'calf.yaml:6:14: {side} is used but the exercise has no sides; ' \
        'add "sides: [left, right]" to the exercise or remove {side}'


def test_side_placeholder_in_a_tip():
    text = "name: R\nexercises:\n  - name: E\n    sides: [left]\n    steps: [{rest: 5}]\n    tip: Rub your {side} calf.\n"
    assert error(text) == "calf.yaml:6:10: a tip is said once, after all sides, so it cannot use {side}; remove it"


def test_unknown_placeholder():
    assert error(routine_with_steps("- say: Lift your {leg}.\n", sides="[left, right]")) == \
        "calf.yaml:6:14: unknown placeholder {leg}; the only one is {side}"


@pytest.mark.parametrize("text, expected", [
    ("name: R\nname: S\n" + EXERCISES,
     'calf.yaml:2:1: duplicate key "name" (already given on line 1); keep only one'),
    (routine_with_steps("- hold: 30\n  hold: 40\n"),
     'calf.yaml:7:9: duplicate key "hold" (already given on line 6); keep only one'),
    ("name: R\nexercises:\n  - name: E\n    steps: [{rest: 5}]\n    steps: [{rest: 6}]\n",
     'calf.yaml:5:5: duplicate key "steps" (already given on line 4); keep only one'),
])
def test_duplicate_keys_in_a_mapping(text, expected):
    assert error(text) == expected


@pytest.mark.parametrize("text, shown", [("- name: R\n", "a list"), ("Calf stretch\n", '"Calf stretch"'), ("42\n", "42")])
def test_wrong_top_level_type(text, shown):
    assert error(text) == \
        f'calf.yaml:1:1: a routine file must be a mapping with "name:" and "exercises:" at the top level, got {shown}'


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", b""])
def test_empty_file(text):
    assert error(text) == 'calf.yaml:1:1: the file is empty; a routine needs "name:" and "exercises:"'


@pytest.mark.parametrize("field, text", [("name", "name:\n" + EXERCISES), ("name", "name: '  '\n" + EXERCISES)])
def test_empty_text(field, text):
    assert error(text).endswith(f'{field} is empty; write some words after "{field}:"')
    assert error(text).startswith("calf.yaml:1:")


def test_yaml_syntax_error_reports_its_position():
    assert error("name: R\nexercises: [a, b\n") == \
        'calf.yaml:3:1: the list in [ ] that starts at line 2, column 12 is not closed; add "]" at its end, ' \
        'and put ", " between its items'


def test_colon_in_unquoted_text_hints_at_quotes():
    assert error(routine_with_steps("- say: Note: breathe.\n")) == \
        'calf.yaml:6:18: this line has a second ": ", which is read as the start of a new key; ' \
        'if a text contains ": ", put the whole text in quotes'


INDENTATION = ('In a routine, indent with spaces only: each item of a list starts with "- ", all the items of one '
               'list start in the same column, and the keys of one item (such as name:, sides: and steps:) line up '
               'under its first key.')


@pytest.mark.parametrize("parser", ["CSafeLoader", "SafeLoader"])   # libyaml's and PyYAML's wording
@pytest.mark.parametrize("text, expected", [
    ("name: R\nexercises:\n  - name: E\n   steps:\n      - hold: 30\n",   # the example
     'calf.yaml:4:4: this line is not lined up with the item that starts on line 3: begin it with "- " to start '
     'a new item, or indent it by 4 spaces to line it up with "name:" on line 3. ' + INDENTATION),
    ("name: R\nexercises:\n  - name: E\n    steps:\n      - say: a\n     - hold: 3\n",
     "calf.yaml:6:6: this line starts after 5 spaces, which matches nothing above it: the keys that start on "
     'line 3 start after 4 spaces, and a "- " item must start exactly where the items before it do. ' + INDENTATION),
    ("name: R\nexercises:\n  - name: E\n    steps:\n      - rest: 5\n    - hold: 3\n",
     'calf.yaml:6:5: a "- " item cannot start here, among the keys of the item that starts on line 3; line it up '
     'with the "- " of the items of its own list. ' + INDENTATION),
    ("name: R\nexercises:\n  - name: E\n    steps:\n      - hold: 30\n         count: each\n",
     "calf.yaml:6:15: this line is indented more than the key above it, so it is read as part of that key's "
     "value; line its key up with the keys above it. " + INDENTATION),
    ("name: R\nexercises:\n  - name: E\n    steps\n      - hold: 3\n",
     'calf.yaml:4:5: "steps" has no ":" after it; write this line as "key: value", such as "hold: 30", or if it '
     "goes on with the text of the line above, put that whole text in quotes on one line"),
    ("name: 'R\nexercises: []\n",
     "calf.yaml:1:7: the quote that opens here is never closed; add the same quote mark at the end of the text"),
    ('name: "R" again\n', "calf.yaml:1:11: nothing more can follow here on this line; if it holds a text in "
                          "quotes, put the whole text inside the quotes"),
    ("name: R\nexercises: {a: b\n",
     'calf.yaml:3:1: the mapping in { } that starts at line 2, column 12 is not closed; add "}" at its end, '
     'and put ", " between its items'),
    ("name: @R\n", 'calf.yaml:1:7: "@" cannot begin a value; put the whole text in quotes'),
    ("%YAML 1.1\n%YAML 1.1\n---\nname: R\n",
     "calf.yaml:2:1: this line cannot be read as YAML; check that it lines up with the lines above it. " + INDENTATION),
])
def test_yaml_syntax_errors_in_plain_words(monkeypatch, parser, text, expected):
    import yaml
    from voicecoach import routine
    if not hasattr(yaml, parser):
        pytest.fail(f"PyYAML here has no {parser}")
    monkeypatch.setattr(routine, "_Parser", getattr(yaml, parser))
    assert error(text) == expected


def test_a_text_run_on_into_a_badly_indented_line_is_not_a_second_mistake():
    lines = error("name: R\nexercises:\n  - name: E\n    steps:\n      - hold: 30\n         count: each\n")
    assert "got" not in lines and len(lines.splitlines()) == 1


def test_second_document():
    assert error("name: R\n" + EXERCISES + "---\nname: S\n") == "calf.yaml:5:1: only one routine per file; remove this second document"


def test_text_that_is_a_list():
    assert error("name: [a, b]\n" + EXERCISES) == "calf.yaml:1:7: name must be text, got a list"


# ---- hostile input ----------------------------------------------------------------------

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_alias_bomb_is_refused_at_its_first_anchor():
    assert error(BILLION_LAUGHS) == \
        "calf.yaml:1:4: anchors and aliases (& and *) are not allowed in routine files; write each value out in full"


def test_a_lone_alias_is_refused():
    assert error("name: *x\n").startswith("calf.yaml:1:7: anchors and aliases (& and *) are not allowed")


def test_file_over_256_kib():
    big = VALID + "# " + "x" * (256 * 1024) + "\n"
    assert error(big) == "calf.yaml:1:1: file is too large (257 KiB); a routine file must be at most 256 KiB"
    assert error(big.encode()) == error(big)


def test_file_of_exactly_256_kib_is_read():
    text = VALID + "#" * (256 * 1024 - len(VALID) - 1) + "\n"
    assert len(text.encode()) == 256 * 1024
    assert load(text).name == "Calf stretch"


def test_binary_file():
    assert error(bytes(range(256))) == \
        "calf.yaml:1:1: not a text file: it holds a NUL byte (first at line 1, column 1)"


def test_non_utf8_text():
    assert error("name: Caf\xe9\nexercises: []\n".encode("latin-1")) == \
        "calf.yaml:1:1: not a text file: byte 0xe9 at line 1, column 10 is not UTF-8; save the routine as UTF-8 text"


def test_utf16_file_is_not_a_text_file():
    assert error(VALID.encode("utf-16")).startswith("calf.yaml:1:1: not a text file: ")


@pytest.mark.parametrize("data", [VALID.replace("R\n", "R\0\n", 1).replace("Calf", "Ca\0lf", 1),
                                  VALID.replace("Calf", "Ca\0lf", 1).encode()])
def test_nul_bytes(data):
    assert error(data).startswith("calf.yaml:1:1: not a text file: it holds a NUL")
    assert "(first at line 1, column 9)" in error(data)


def test_control_character():
    assert error("name: R\x07\nexercises: []\n") == \
        "calf.yaml:1:8: character U+0007 is not allowed in a routine file; remove it"


def test_escaped_control_character_in_quoted_text():
    assert error('name: "R\\a"\n' + EXERCISES) == "calf.yaml:1:7: name holds the control character U+0007; remove it"


@pytest.mark.parametrize("text, position", [
    ("name: R\nexercises:\n\t- name: E\n", "3:1"),
    ("name: R\nexercises:\n  - name: E\n    steps:\n  \t  - rest: 5\n", "5:3"),
    ("\tname: R\n", "1:1"),
])
def test_tabs_for_indentation(text, position):
    assert error(text) == \
        f"calf.yaml:{position}: tab character here; YAML needs spaces, not tabs, for indentation and between items"


def test_nesting_deeper_than_20_levels():
    assert error("name: " + "[" * 30 + "]" * 30 + "\n") == \
        "calf.yaml:1:26: nesting is too deep (more than 20 levels); a routine needs only 5"


def test_nesting_thousands_deep_is_refused_without_recursion_error():
    assert "nesting is too deep" in error("[" * 200_000)


def test_very_long_text():
    assert error(routine_with_steps("- say: " + "word " * 120 + "\n")) == \
        "calf.yaml:6:14: say is too long (599 characters); keep it under 500: short sentences are easier to follow by ear"


def test_text_of_500_characters_is_accepted():
    assert len(load(routine_with_steps("- say: " + "x" * 500 + "\n")).exercises[0].steps[0].text) == 500


def test_too_many_steps_counting_sides():
    steps = "".join("- rest: 1\n" for _ in range(251))
    assert error(routine_with_steps(steps, sides="[left, right]")) == \
        "calf.yaml:256:9: too many steps: a routine may have at most 500 (counting each side); split it into smaller routines"
    assert len(load(routine_with_steps(steps[:-10], sides="[left, right]")).exercises[0].steps) == 250


def test_too_many_steps_across_exercises():
    exercise = "  - name: E\n    steps:\n" + "      - rest: 1\n" * 100
    assert "too many steps" in error("name: R\nexercises:\n" + exercise * 6)
    assert len(load("name: R\nexercises:\n" + exercise * 5).exercises) == 5


def test_too_many_keys_and_values():  # 20,001st node is side s19990, at column 148823
    assert error("name: R\nexercises:\n  - name: E\n    sides: [" + ", ".join(f"s{i}" for i in range(20_000)) + "]\n") == \
        "calf.yaml:4:148823: too much in one file: more than 20000 keys and values; " \
        "a routine holds at most 500 steps, so split it into smaller routines"


@pytest.mark.parametrize("text, tag", [
    ("name: !!python/object:os.system echo\nexercises: []\n", "!!python/object:os.system"),
    ("name: !!python/object/apply:os.system [echo]\nexercises: []\n", "!!python/object/apply:os.system"),
    ("name: !custom R\nexercises: []\n", "!custom"),
    ("name: !!binary aGk=\nexercises: []\n", "!!binary"),
])
def test_yaml_tags_are_refused_clearly(text, tag):
    assert error(text) == \
        f"calf.yaml:1:7: YAML tags such as {tag} are not allowed in routine files; write plain values"


def test_explicit_str_tag_is_allowed():
    assert load("name: !!str 1984\nexercises:\n  - name: E\n    steps: [{rest: 5}]\n").name == "1984"


def test_non_scalar_key():
    assert error("? [a]\n: b\nname: R\n" + EXERCISES) == \
        "calf.yaml:1:3: keys must be plain words such as name, about, source, exercises, got a list"


@pytest.mark.parametrize("bad", [None, ["name: R"], object()])
def test_wrong_argument_type_is_a_bug_not_a_routine_error(bad):
    # Not the user's mistake: it must reach the CLI's last resort ("unexpected error ... please report it").
    with pytest.raises(TypeError):
        load_routine_text(bad, "calf.yaml", "calf")


def test_error_carries_its_parts():
    with pytest.raises(RoutineError) as caught:
        load(routine_with_steps("- hold: thirty\n"))
    assert (caught.value.file, caught.value.line, caught.value.column) == ("calf.yaml", 6, 15)
    assert caught.value.message == 'hold must be a number of seconds between 1 and 600, got "thirty"'


# ---- files and lookup --------------------------------------------------------------------

EXPECTED_BUNDLED = ["calf-stretch", "hamstring-stretch", "soleus-stretch", "towel-calf-stretch"]


def test_bundled_ids():
    assert bundled_routine_ids() == EXPECTED_BUNDLED


@pytest.mark.parametrize("routine_id", EXPECTED_BUNDLED)
def test_every_bundled_routine_loads(routine_id):
    routine = load_routine_file(bundled_routine_path(routine_id), routine_id=routine_id)
    assert routine.id == routine_id
    assert resolve_routine(routine_id, None) == routine
    for exercise in routine.exercises:
        assert {step.kind for step in exercise.steps} >= {"say", "hold"}


def test_bundled_routines_use_fives_and_rest_and_sides():
    routines = [resolve_routine(i, None) for i in EXPECTED_BUNDLED]
    steps = [s for r in routines for e in r.exercises for s in e.steps]
    assert any(s.kind == "hold" and s.count == "fives" for s in steps)
    assert any(s.kind == "rest" for s in steps)
    calf = routines[0].exercises[0]
    assert calf.sides == ("left", "right")
    assert [s.seconds for s in calf.steps if s.kind == "hold"] == [30]
    assert calf.steps[[s.kind for s in calf.steps].index("hold")].count == "each"
    assert "heat" in calf.tip.lower()
    assert routines[0].source


def test_load_file_uses_the_path_as_given_for_id_and_errors(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(VALID)
    assert load_routine_file(str(path)).id == str(path)
    path.write_text("name: R\n")
    with pytest.raises(RoutineError, match=rf"^{path}:1:1: the routine needs exercises"):
        load_routine_file(path)


def test_load_file_refuses_a_huge_file_without_reading_it_all(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"#" * (10 * 1024 * 1024))
    with pytest.raises(RoutineError, match=r":1:1: file is too large \(10240 KiB\); a routine file must be at most 256 KiB$"):
        load_routine_file(path)


def test_missing_file(tmp_path):
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(RoutineError) as caught:
        load_routine_file(missing)
    assert str(caught.value) == f"{missing}: file not found"


def test_folder_is_not_a_routine_file(tmp_path):
    with pytest.raises(RoutineError, match="this is a folder, not a routine file"):
        load_routine_file(tmp_path)


def test_resolve_a_path(tmp_path):
    path = tmp_path / "mine.yml"
    path.write_text(VALID)
    assert resolve_routine(str(path), None).id == str(path)


def test_resolve_a_missing_yaml_path():
    with pytest.raises(RoutineError) as caught:
        resolve_routine("nowhere/calf.yaml", None)
    assert str(caught.value) == \
        "nowhere/calf.yaml: file not found; give a bundled routine name or the path of a .yaml file"


def test_resolve_from_the_user_dir(tmp_path):
    (tmp_path / "evening.yaml").write_text(VALID)
    routine = resolve_routine("evening", tmp_path)
    assert (routine.id, routine.name) == ("evening", "Calf stretch")


def test_resolve_a_yml_file_from_the_user_dir(tmp_path):
    (tmp_path / "morning.yml").write_text(VALID)
    assert resolve_routine("morning", tmp_path).id == "morning"


def test_bundled_id_wins_over_the_user_dir(tmp_path):
    (tmp_path / "calf-stretch.yaml").write_text(VALID.replace("Calf stretch", "Mine"))
    assert resolve_routine("calf-stretch", tmp_path).name == "Calf stretch"


def test_unknown_name_lists_bundled_and_suggests(tmp_path):
    with pytest.raises(RoutineError) as caught:
        resolve_routine("calf-strech", None)
    assert str(caught.value) == (
        'calf-strech: no routine called "calf-strech"; bundled ones are: calf-stretch, hamstring-stretch, '
        'soleus-stretch, towel-calf-stretch (did you mean "calf-stretch"?)')


def test_unknown_name_lists_user_routines_too(tmp_path):
    (tmp_path / "evening.yaml").write_text(VALID)
    with pytest.raises(RoutineError) as caught:
        resolve_routine("evenin", tmp_path)
    assert str(caught.value).endswith(f'; yours in {tmp_path} are: evening (did you mean "evening"?)')


def test_unknown_name_without_a_close_match():
    with pytest.raises(RoutineError) as caught:
        resolve_routine("yoga", None)
    assert str(caught.value) == ('yoga: no routine called "yoga"; bundled ones are: calf-stretch, '
                                 'hamstring-stretch, soleus-stretch, towel-calf-stretch')


def test_bundled_routine_path_refuses_unknown_ids():
    with pytest.raises(RoutineError, match="no routine called"):
        bundled_routine_path("../intents")


def test_detail_marks_a_say_step_for_the_detailed_verbosity():
    routine = load(routine_with_steps("- say: Breathe slowly.\n  detail: true\n- hold: 30\n"))
    assert routine.exercises[0].steps[0].detail and not routine.exercises[0].steps[1].detail


def test_detail_on_a_hold_step():
    assert error(routine_with_steps("- hold: 30\n  detail: true\n")) == \
        'calf.yaml:7:9: "detail" only goes with a say step; remove it from this hold step'


def test_detail_must_be_true_or_false():
    assert error(routine_with_steps("- say: Breathe.\n  detail: often\n")) == \
        'calf.yaml:7:17: detail must be true or false, got "often"'


# ---- every mistake at once -----------------------------------------------------------------

SEVEN_MISTAKES = """\
name: Calf
abuot: A stretch.
exercises:
  - name: One
    sides: [left, right, left]
    steps:
      - say: Step your {side} foot back.
      - hold: thirty
        count: every
      - rest: 5
        count: each
  - nmae: Two
    steps:
      - say: Lift your {leg}.
      - Breathe.
"""


def test_every_independent_mistake_is_reported_in_file_order():
    assert error(SEVEN_MISTAKES).splitlines() == [
        'calf.yaml:2:1: unknown key "abuot" in the routine; did you mean "about"?',
        'calf.yaml:5:26: side "left" is listed twice; list each side once, '
        'and add "rounds: 2" to the exercise to do every side again',
        'calf.yaml:8:15: hold must be a number of seconds between 1 and 600, got "thirty"',
        'calf.yaml:9:16: count must be one of each, fives, none, got "every"',
        'calf.yaml:11:9: "count" only goes with a hold step; remove it from this rest step',
        'calf.yaml:12:5: unknown key "nmae" in an exercise; did you mean "name"?',
        "calf.yaml:14:14: unknown placeholder {leg}; the only one is {side}",
        'calf.yaml:15:9: a step must be one of "say: ...", "hold: 30" or "rest: 5", got "Breathe." '
        '(to speak it, write "- say: Breathe.")',
    ]


def test_the_error_carries_every_mistake_and_the_first_as_its_parts():
    with pytest.raises(RoutineError) as caught:
        load(SEVEN_MISTAKES)
    assert (caught.value.line, caught.value.column) == (2, 1)
    assert [(m.line, m.column) for m in caught.value.mistakes][:3] == [(2, 1), (5, 26), (8, 15)]


def test_a_misspelt_required_key_is_not_also_reported_missing():
    assert error("nmae: R\nexercices: []\n").splitlines() == [
        'calf.yaml:1:1: unknown key "nmae" in the routine; did you mean "name"?',
        'calf.yaml:2:1: unknown key "exercices" in the routine; did you mean "exercises"?']


def test_mistakes_before_a_yaml_syntax_error_are_reported_and_reading_stops_there():
    text = ("name: R\nexercises:\n  - name: E\n    steps:\n      - hold: thirty\n"
            "      - say: Breathe.\n     - rest: 5\n  - name: F\n    steps: [{hold: 0}]\n")
    lines = error(text).splitlines()
    assert lines[0] == 'calf.yaml:5:15: hold must be a number of seconds between 1 and 600, got "thirty"'
    assert lines[1].startswith("calf.yaml:7:6: ") and len(lines) == 2   # line 9's hold: 0 is not read


def test_a_cut_off_exercise_is_not_said_to_lack_its_steps():
    assert "needs" not in error("name: R\nexercises:\n  - name: E\n   steps:\n      - hold: 30\n")


def test_a_flood_of_mistakes_is_cut_short_with_a_count():
    text = "name: R\n" + "".join(f"k{i}: x\n" for i in range(30)) + EXERCISES
    lines = error(text).splitlines()
    assert len(lines) == 20
    assert lines[-1] == "calf.yaml:21:1: 11 more mistakes from here on; fix the ones above and check again"


# ---- rounds ----------------------------------------------------------------------------------

def with_rounds(value: str) -> str:
    return "name: R\nexercises:\n  - name: E\n    sides: [left, right]\n" \
           f"    rounds: {value}\n    steps:\n      - hold: 30\n"


def test_rounds_repeat_an_exercise_and_default_to_one():
    assert load(with_rounds("3")).exercises[0] == Exercise("E", (Step("hold", seconds=30),), ("left", "right"), rounds=3)
    assert load(routine_with_steps("- hold: 30\n")).exercises[0].rounds == 1
    assert load(with_rounds("20")).exercises[0].rounds == 20


@pytest.mark.parametrize("value, shown", [
    ("0", "0"), ("100", "100"), ("21", "21"), ("-2", "-2"), ("three", '"three"'), ("2.5", "2.5"), ("~", "nothing"),
    ("[1, 2]", "a list"), ("yes", "yes"), ("99999999999999999999", "99999999999999999999"),
])
def test_rounds_must_be_a_whole_number_from_1_to_20(value, shown):
    assert error(with_rounds(value)) == \
        f"calf.yaml:5:13: rounds must be a whole number from 1 to 20, such as rounds: 3, got {shown}"


def test_rounds_as_a_quoted_number_says_remove_the_quotes():
    assert error(with_rounds('"3"')) == \
        'calf.yaml:5:13: rounds must be a whole number from 1 to 20, such as rounds: 3, got "3" (remove the quotes)'


def test_a_misspelt_rounds_is_an_unknown_key_with_did_you_mean():
    assert error(with_rounds("3").replace("rounds:", "round:")) == \
        'calf.yaml:5:5: unknown key "round" in an exercise; did you mean "rounds"?'


def test_too_many_steps_counting_rounds():
    steps = "".join("      - rest: 1\n" for _ in range(126))
    assert error(with_rounds("2").replace("      - hold: 30\n", steps)) == \
        "calf.yaml:132:9: too many steps: a routine may have at most 500 (counting each side and round); " \
        "split it into smaller routines"


@pytest.mark.parametrize("parser", ["CSafeLoader", "SafeLoader"])
@pytest.mark.parametrize("text", ["[ steps", '\n  {#?,@"'])
def test_a_syntax_error_at_the_very_end_of_the_file_is_still_in_plain_words(monkeypatch, parser, text):
    import yaml
    from voicecoach import routine
    monkeypatch.setattr(routine, "_Parser", getattr(yaml, parser))
    assert "could not read this routine" not in error(text)


def test_once_goes_on_say_steps_only_and_is_true_or_false():
    from voicecoach.routine import RoutineError, load_routine_text
    good = "name: R\nexercises:\n  - name: E\n    sides: [left, right]\n    steps:\n      - say: Lean on a wall.\n        once: true\n      - hold: 5\n"
    assert load_routine_text(good, "r.yaml", "r").exercises[0].steps[0].once is True
    for bad, message in (("      - hold: 5\n        once: true\n", '"once" only goes with a say step'),
                         ("      - say: Lean.\n        once: maybe\n", "once must be true or false")):
        text = "name: R\nexercises:\n  - name: E\n    steps:\n" + bad
        try:
            load_routine_text(text, "r.yaml", "r")
        except RoutineError as error:
            assert message in str(error), error
        else:
            raise AssertionError(bad)
