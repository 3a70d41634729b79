"""Moonshine's second opinion: the model files, their int8 conversion, and how its transcript is used."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy
import pytest

from tests.harness import make_speech_wav
from voicecoach.intents import command_of
from voicecoach.listening.moonshine import (SentenceGrammar, Moonshine, MoonshineTranscript, int8_model, model_dir,
                                            read_tokens)
from voicecoach.listening.denoise import speech_to_noise_db
from voicecoach.listening.recognizer import Recognizer, Tuning
from voicecoach.ports import Heard


@pytest.fixture(scope="module")
def transcriber(tmp_path_factory):
    return Moonshine(cache_dir=tmp_path_factory.mktemp("cache"))


def pcm_of(tmp_path, text, voice="en-us", speed=160):
    path = tmp_path / f"{voice}-{text.replace(' ', '_')}.wav"
    return make_speech_wav(text, path, voice=voice, speed=speed, engine="espeak-ng", noise_db=-66,
                           pad_s=0.4).read_bytes()[44:]


class FixedTranscript:
    """fits: the proposed command sentences' scores; scores: any other sentence's, when asked for."""

    def __init__(self, text, fits=None, tokens=None, scores=None, logprob=-1.0, found=()):
        self.text, self.fits, self.tokens, self.scores, self.calls = text, fits or {}, tokens, scores, 0
        self.logprob, self.found = logprob, found  # found: what a grammar search finds, (text, fit, tokens)

    def hear(self, pcm, alternatives=None):
        self.calls += 1
        scorer = self.scores and (lambda sentences: [self.scores.get(s) for s in sentences])
        best = max((fit for _, fit, _ in self.found), default=0.0)
        return MoonshineTranscript(self.text, self.logprob, self.fits, scorer=scorer,
                          tokens=self.tokens and (lambda sentence: self.tokens),
                          searcher=lambda parts, floor, within: [f for f in self.found
                                                                 if f[1] >= max(floor, best - within)])


def test_token_lengths_of_128_bytes_or_more_take_two_bytes(tmp_path):
    long_token = b"x" * 200
    (tmp_path / "tokens.bin").write_bytes(b"\x03<s>" + bytes([200 & 0x7F | 0x80, 200 >> 7]) + long_token + b"\x01a")
    assert read_tokens(tmp_path / "tokens.bin") == [b"<s>", long_token, b"a"]


def test_the_shipped_vocabulary_is_read_whole():
    tokens = read_tokens(model_dir() / "tokenizer.bin")
    assert tokens[:3] == [b"<unk>", b"<s>", b"</s>"] and len(tokens) == 32000


@pytest.mark.slow
def test_the_int8_models_give_the_shipped_models_words(tmp_path, transcriber):
    import onnxruntime
    pcm = pcm_of(tmp_path, "go ahead and speak faster")
    converted = transcriber.hear(pcm).text
    shipped = Moonshine.__new__(Moonshine)
    shipped.__dict__.update(transcriber.__dict__)
    shipped.encoder, shipped.decoder = (
        onnxruntime.InferenceSession(str(model_dir() / name), providers=["CPUExecutionProvider"])
        for name in ("encoder_model.ort", "decoder_model_merged.ort"))
    assert converted == shipped.hear(pcm).text
    assert "speak faster" in converted.lower()


@pytest.mark.slow
def test_the_conversion_is_cached_and_replaces_older_ones(tmp_path):
    source = model_dir() / "decoder_model_merged.ort"
    older = tmp_path / "moonshine-base-en-decoder_model_merged-int8-v0-1.weights"
    older.write_bytes(b"old")
    first = int8_model(source, tmp_path)
    stamp = first.stat().st_mtime_ns
    assert int8_model(source, tmp_path) == first and first.stat().st_mtime_ns == stamp
    assert not older.exists() and sorted(p.suffix for p in tmp_path.iterdir()) == [".onnx", ".weights"]


def test_silence_and_a_too_short_clip_give_no_words(transcriber):
    assert transcriber.hear(b"").text == ""
    assert transcriber.hear(numpy.zeros(1000, numpy.int16).tobytes()).text == ""


def with_pink_noise(pcm: bytes, snr_db: float) -> bytes:
    speech = numpy.frombuffer(pcm, numpy.int16).astype(numpy.float64)
    white = numpy.fft.rfft(numpy.random.default_rng(5).normal(size=len(speech)))
    pink = numpy.fft.irfft(white / numpy.sqrt(numpy.maximum(numpy.arange(len(white)), 1)), len(speech))
    loud = numpy.sqrt(numpy.percentile(speech ** 2, 95))
    noise = pink / pink.std() * loud / 10 ** (snr_db / 20)
    return numpy.clip(speech + noise, -32768, 32767).astype(numpy.int16).tobytes()


def quiet_start_db(pcm: bytes) -> float:
    lead = numpy.frombuffer(pcm, numpy.int16)[:4800].astype(numpy.float64)  # inside the 0.4 s pad: noise only
    return 10 * numpy.log10((lead ** 2).mean() + 1)


def test_moonshine_hears_noise_suppressed_only_when_the_utterance_is_noisy(tmp_path):
    class Recording(FixedTranscript):
        def hear(self, pcm, alternatives=None):
            self.heard = pcm
            return super().hear(pcm, alternatives)

    clean = pcm_of(tmp_path, "pause")
    noisy = with_pink_noise(clean, 8)
    assert speech_to_noise_db(clean) > Tuning.noisy_below_db > speech_to_noise_db(noisy)
    moonshine = Recording("Pause.")
    Recognizer(transcriber=moonshine).recognize(clean)
    assert moonshine.heard == clean
    Recognizer(transcriber=moonshine).recognize(noisy)
    assert len(noisy) - 320 < len(moonshine.heard) <= len(noisy)
    assert quiet_start_db(moonshine.heard) < quiet_start_db(noisy) - 10


def test_in_noise_the_audio_as_it_came_is_heard_too_when_the_suppressed_audio_says_nothing(tmp_path, monkeypatch):
    noisy = with_pink_noise(pcm_of(tmp_path, "skip"), 8)

    class ByAudio(FixedTranscript):
        def hear(self, pcm, alternatives=None):
            self.calls += 1
            return MoonshineTranscript("Skip." if pcm == noisy else "Pink.", -1.0, {})

    recognizer, searched = Recognizer(transcriber=ByAudio("")), []
    silence = recognizer.scores(bytes(16000))  # the grammar finds nothing
    monkeypatch.setattr(recognizer, "scores", lambda pcm, exhaustive=False: searched.append(pcm) or silence)
    heard = recognizer.recognize(noisy)
    assert (heard.intent, heard.extra["transcript"]) == ("next", "Skip.")
    assert searched == [noisy]  # once, for both hearings
    assert recognizer.transcriber.calls == 3  # suppressed, suppressed and slowed, as it came


def test_suppression_keeps_the_words(tmp_path, transcriber):
    heard = Recognizer(transcriber=transcriber).recognize(with_pink_noise(pcm_of(tmp_path, "go back"), 10))
    assert (heard.intent, heard.extra["recognizer"]) == ("back", "moonshine"), heard


def test_a_transcript_that_names_a_command_wins(tmp_path):
    noise = numpy.random.default_rng(1).normal(0, 30, 16000).astype(numpy.int16).tobytes()
    recognizer = Recognizer(transcriber=FixedTranscript("Next one, please."))
    heard = recognizer.recognize(noise)
    assert (heard.intent, heard.text, heard.extra["recognizer"]) == ("next", "Next one, please.", "moonshine")
    assert heard.extra["transcript"] == "Next one, please." and heard.extra["decode_ms"] > 0
    assert heard.extra["hypothesis"] is None  # the grammar was not searched: its answer would not count


def test_a_transcript_that_names_no_command_leaves_the_grammar_result(tmp_path):
    pcm = pcm_of(tmp_path, "slow down")
    fixed = FixedTranscript("Lovely weather.")
    heard = Recognizer(transcriber=fixed).recognize(pcm)
    assert heard.intent == "slower" and heard.extra["recognizer"] == "pocketsphinx" and fixed.calls == 1
    assert Recognizer(transcriber=fixed).recognize(pcm_of(tmp_path, "my brother bought a bicycle")).intent is None


def test_moonshine_hears_the_lone_next_that_the_grammar_takes_for_a_number(tmp_path, transcriber):
    pcm = pcm_of(tmp_path, "next")
    assert Recognizer().recognize(pcm).intent is None  # the known miss, see test_listening.py
    heard = Recognizer(transcriber=transcriber).recognize(pcm)
    assert heard.intent == "next", heard


@pytest.mark.parametrize("text", ["twenty seven", "forty two", "my brother bought a new bicycle last month",
                                  "I will put the kettle on"])
def test_non_commands_stay_rejected_with_both_opinions(tmp_path, transcriber, text):
    heard = Recognizer(transcriber=transcriber).recognize(pcm_of(tmp_path, text))
    assert heard.intent is None, heard


def test_a_command_sentence_that_fits_the_audio_almost_as_well_as_the_transcript_counts():
    noise = numpy.random.default_rng(3).normal(0, 30, 16000).astype(numpy.int16).tobytes()
    near = FixedTranscript("Please more follow you.", {"Please more volume": -3.5, "Please move on": -9.0})
    heard = Recognizer(transcriber=near).recognize(noise)
    assert (heard.intent, heard.text, heard.extra["transcript"]) == ("louder", "Please more volume", near.text)
    far = FixedTranscript("Please more follow you.", {"Please more volume": -9.0})
    assert Recognizer(transcriber=far).recognize(noise).intent is None
    # A cough heard as a sentence, which a command happened to fit better than the sentence itself:
    unlike = FixedTranscript("For all of us, we are all in the same state.", {"What else can I say": 2.0})
    assert Recognizer(transcriber=unlike).recognize(noise).intent is None


def test_a_fitted_sentence_counts_only_if_each_of_its_tokens_is_likely_enough():
    noise = numpy.random.default_rng(8).normal(0, 30, 16000).astype(numpy.int16).tobytes()
    unlikely = FixedTranscript("Bee moor the tale.", {"be more detailed": -20.5}, tokens=5, logprob=-20.0)
    assert Recognizer(transcriber=unlikely).recognize(noise).intent is None  # -4.1 a token
    likely = FixedTranscript("Bee moor the tale.", {"be more detailed": -20.5}, tokens=8, logprob=-20.0)
    assert Recognizer(transcriber=likely).recognize(noise).intent == "detailed"  # -2.6 a token


def test_a_loose_match_gives_way_to_the_command_sentence_the_audio_fits_better():
    noise = numpy.random.default_rng(4).normal(0, 30, 16000).astype(numpy.int16).tobytes()
    heard = Recognizer(transcriber=FixedTranscript("That's out.", {"That's enough": -9.0, "That hurts": -2.5}))
    assert heard.recognize(noise).intent == "pain"
    unsure = FixedTranscript("That's out.", {"That's enough": -9.0, "That hurts": -7.5})
    assert Recognizer(transcriber=unsure).recognize(noise).intent is None  # not "stop", which ends the session


def test_a_command_sentence_well_ahead_of_the_others_counts_when_nothing_else_understood_the_audio():
    noise = numpy.random.default_rng(5).normal(0, 30, 16000).astype(numpy.int16).tobytes()
    go_on = command_of("go on")[0]
    heard = Recognizer(transcriber=FixedTranscript("Glenn Mann.", {"Go on": -5.0, "Go back": -8.0})).recognize(noise)
    assert (heard.intent, heard.text, heard.extra["recognizer"]) == (go_on, "Go on", "moonshine")
    close_call = FixedTranscript("Glenn Mann.", {"Go on": -5.0, "Go back": -6.0})
    assert Recognizer(transcriber=close_call).recognize(noise).intent is None
    too_far = FixedTranscript("Glenn Mann.", {"Go on": -8.0, "Go back": -12.0})
    assert Recognizer(transcriber=too_far).recognize(noise).intent is None
    one_word = FixedTranscript("Glory.", {"Go on": -5.0, "Go back": -8.0})  # one word has less slack
    assert Recognizer(transcriber=one_word).recognize(noise).intent is None
    # A television line that starts like a command is longer than the command:
    longer = FixedTranscript("Next, wait for the contestants.", {"Next": 0.0, "Go back": -9.0})
    assert Recognizer(transcriber=longer).recognize(noise).intent is None
    assert Recognizer(transcriber=FixedTranscript("Eight.", {"Wait": -2.0, "Next": -9.0})).recognize(noise).intent is None


def test_the_command_the_grammar_rejected_counts_when_its_sentence_fits_the_audio_best(monkeypatch):
    noise = numpy.random.default_rng(6).normal(0, 30, 16000).astype(numpy.int16).tobytes()
    rejected = Heard("slow down", None, None, 0.2, None,
                     {"hypothesis": "slow down", "gap": 40.0, "recognizer": "pocketsphinx", "near_miss": False})

    class Scored(FixedTranscript):
        def hear(self, pcm, alternatives=None):
            return MoonshineTranscript(self.text, -1.0, self.fits, lambda said: [-5.0 if s == "slow down" else -20.0 for s in said])

    scored, unscored = (Recognizer(transcriber=kind("Sloane town.", {"Go on": -12.0})) for kind in (Scored, FixedTranscript))
    for recognizer in (scored, unscored):
        monkeypatch.setattr(recognizer, "_grammar_heard", lambda pcm, audio_end: dataclasses.replace(rejected))
    assert scored.recognize(noise).intent == "slower"
    assert unscored.recognize(noise).intent is None  # its sentence cannot be scored


class SlowerHeard(FixedTranscript):
    """Hears `text` in the audio as given, and `slower_text` in the same audio played slower."""
    def __init__(self, text, slower_text):
        super().__init__(text)
        self.slower_text, self.lengths = slower_text, []

    def hear(self, pcm, alternatives=None):
        self.lengths.append(len(pcm))
        return MoonshineTranscript(self.slower_text if len(pcm) > self.lengths[0] else self.text, -1.0, {})


def test_audio_nothing_understood_is_heard_once_more_slower_and_its_command_counts_from_two_words():
    noise = numpy.random.default_rng(7).normal(0, 30, 16000).astype(numpy.int16).tobytes()
    twice = SlowerHeard("Born.", "Slow down.")
    heard = Recognizer(transcriber=twice).recognize(noise)
    assert (heard.intent, heard.extra["slowed"]) == ("slower", "Slow down.")
    assert twice.lengths == [len(noise), 2 * int(len(noise) / 2 / 0.9)]  # 10% slower, in whole samples
    assert Recognizer(transcriber=SlowerHeard("Damn.", "Next.")).recognize(noise).intent is None  # one word
    assert Recognizer(transcriber=SlowerHeard("Born.", "Lovely weather today.")).recognize(noise).intent is None


def test_the_sentence_grammar_holds_each_phrase_with_or_without_a_politeness_word_and_comma_either_side():
    ids: dict[str, int] = {}

    def encode(text):  # one token a word, and one for a comma
        return [ids.setdefault(piece, len(ids)) for word in text.split()
                for piece in ([word[:-1], ","] if word.endswith(",") else [word])]

    grammar = SentenceGrammar(encode, ["please"], ["slow down", "i'm ready"], ["now"], comma=encode("x,")[-1])
    pieces = {i: piece for piece, i in ids.items()}

    def sentences(places, said=()):
        found = {" ".join(said).replace(" ,", ",")} if SentenceGrammar.complete(places) else set()
        for token, following in grammar.following(places).items():
            found |= sentences(following, said + (pieces[token],))
        return found

    first, inner = ("Slow down", "I'm ready"), ("slow down", "I'm ready")  # as Moonshine writes them
    assert sentences(grammar.start) == {before + phrase + after
                                        for before, phrases in (("", first), ("Please ", inner), ("Please, ", inner))
                                        for phrase in phrases for after in ("", " now", ", now")}


def test_a_grammar_search_finds_the_sentence_said_and_scores_it_as_the_scorer_does(tmp_path, transcriber):
    heard = transcriber.hear(pcm_of(tmp_path, "please pause"))
    found = heard.likeliest(Recognizer().command_parts, -numpy.inf, 20.0)
    assert found[0][0] == "Please pause" and found[0][2] == 3  # two tokens and the ending
    assert abs(found[0][1] - heard.fit_of("please pause")) < 0.5
    assert all(fit <= found[0][1] and fit >= found[0][1] - 20 for _, fit, _ in found)
    assert all(command_of(text)[0] is not None for text, _, _ in found)


def test_a_command_sentence_the_grammar_search_finds_clearly_best_counts_when_nothing_else_understood(tmp_path):
    noise = numpy.random.default_rng(7).normal(0, 30, 16000).astype(numpy.int16).tobytes()

    def heard(text, *found, logprob=-3.0, pcm=noise):
        recognizer = Recognizer(transcriber=FixedTranscript(text, logprob=logprob, found=found))
        recognizer.alignment_gap = lambda pcm, sentence: None  # pocketsphinx cannot vouch for any sentence
        return recognizer.recognize(pcm)

    searched = heard("Late school farm.", ("Let's move on", -4.5, 6), ("Please move on", -5.9, 4), ("Wait", -9.0, 2))
    assert (searched.intent, searched.text, searched.extra["searched"]) == ("next", "let's move on", True)
    assert heard("Late school farm.", ("Let's move on", -4.5, 6), ("Wait", -6.0, 2)).intent is None  # 1.5 ahead
    assert heard("Late school farm.", ("Let's move on", -8.0, 6)).intent is None  # 5 nats behind the transcript
    assert heard("Nice job.", ("Now stop", -5.4, 2)).intent is None  # -2.7 a token
    assert heard("Bag.", ("Back", -5.2, 2), logprob=-1.2).intent is None  # one word: 3 nats at most
    assert heard("Bag.", ("Back", -4.0, 2), logprob=-1.2).intent == "back"
    assert heard("Hello there, how are you doing today?", ("Hello", -4.0, 2)).intent is None  # far more words
    assert heard("Eighteen.", ("Ready", -4.0, 3)).intent is None
    assert heard("Aiding", ("Ready", -4.0, 3), pcm=pcm_of(tmp_path, "eighteen")).intent is None  # the grammar's number


def test_a_searched_sentence_just_outside_the_bounds_counts_when_pocketsphinx_aligns_it_as_closely():
    noise = numpy.random.default_rng(7).normal(0, 30, 16000).astype(numpy.int16).tobytes()

    def heard(gap, text="Bag.", found=(("Back", -5.2, 2),), logprob=-1.2):
        recognizer = Recognizer(transcriber=FixedTranscript(text, logprob=logprob, found=found))
        recognizer.alignment_gap = lambda pcm, sentence: gap
        return recognizer.recognize(noise)

    agreed = heard(7.5)  # one word, 4 nats behind: more than the 3 a one-word transcript gets alone
    assert (agreed.intent, agreed.text, agreed.extra["alignment_gap"]) == ("back", "back", 7.5)
    assert heard(12.0).intent is None
    assert heard(None).intent is None  # it could not align the sentence
    assert heard(7.5, found=(("Back", -6.0, 2),)).intent is None  # 4.8 nats behind
    assert heard(7.5, found=(("Back", -6.4, 2),), logprob=-2.0).intent is None  # -3.2 a token
    assert heard(7.5, "Don't buy it.", (("Goodbye", -4.7, 2),)).intent == "stop"  # two words more
    assert heard(7.5, "Don't buy it now.", (("Goodbye", -4.7, 2),)).intent is None  # three more
    assert heard(7.5, "Late school farm.", (("Let's move on", -4.5, 6), ("Wait", -6.0, 2))).intent is None  # 1.5 ahead


def test_pocketsphinx_aligns_the_sentence_said_closer_than_another(tmp_path):
    recognizer, pcm = Recognizer(), pcm_of(tmp_path, "please pause")
    said, other = recognizer.alignment_gap(pcm, "Please, pause."), recognizer.alignment_gap(pcm, "how long left")
    assert said is not None and other is not None and said < Tuning().agreed_gap < other
    assert recognizer.alignment_gap(pcm, "xyzzy") is None  # not in its dictionary


def test_a_failing_grammar_search_leaves_the_utterance_not_understood():
    def out_of_memory(*args):
        raise RuntimeError("out of memory")

    class BrokenSearch(FixedTranscript):
        def hear(self, pcm, alternatives=None):
            heard = super().hear(pcm, alternatives)
            heard.likeliest = out_of_memory
            return heard

    noise = numpy.random.default_rng(7).normal(0, 30, 16000).astype(numpy.int16).tobytes()
    heard = Recognizer(transcriber=BrokenSearch("Late school farm.")).recognize(noise)
    assert heard.intent is None and "out of memory" in heard.extra["transcriber_error"]


def test_the_nearest_command_sentences_keep_the_transcripts_own_politeness_words():
    sentences = Recognizer().command_sentences("Wait a secant, thank you.")
    assert "wait a second, thank you" in sentences and len(sentences) == Recognizer().tuning.fit_candidates
    assert Recognizer().command_sentences("") == [] and Recognizer().command_sentences("将将") == []


def test_moonshine_scores_the_sentence_that_was_said_above_its_neighbours(tmp_path, transcriber):
    heard = transcriber.hear(pcm_of(tmp_path, "please more volume"), lambda text: ["Please more volume", "Please move on"])
    assert heard.fits["Please more volume"] > heard.fits["Please move on"] + 3
    assert heard.logprob - heard.fits["Please more volume"] < 3
    assert transcriber.encode("I'm done, thank you") and \
        b"".join(transcriber.tokens[t] for t in transcriber.encode("Go ahead")) == "\u2581Go\u2581ahead".encode()


def test_proposed_sentences_are_scored_only_when_their_fits_are_read(tmp_path, transcriber):
    recognizer, proposed = Recognizer(transcriber=transcriber), []
    recognizer.command_sentences = lambda text: proposed.append(text) or ["Next one"]
    pcm = pcm_of(tmp_path, "next one please")
    assert recognizer.recognize(pcm).intent == "next" and proposed == []  # the transcript named it
    heard = transcriber.hear(pcm, recognizer.command_sentences)
    assert list(heard.fits) == ["Next one"] and heard.fits is heard.fits and proposed == [heard.text]


def resident_kb_of_weights(transcriber):
    starts, total, counted = {start for start, _ in transcriber.weights.ranges}, 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if "-" in line.split(" ", 1)[0]:
            counted = int(line.split("-", 1)[0], 16) in starts
        elif counted and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


def test_releasing_memory_drops_the_weights_pages_until_they_are_used_again(tmp_path, transcriber):
    pcm = pcm_of(tmp_path, "slow down")
    text = transcriber.hear(pcm).text
    held = resident_kb_of_weights(transcriber)
    transcriber.release_memory()
    assert held > 20_000 and resident_kb_of_weights(transcriber) < held / 4
    assert transcriber.hear(pcm).text == text and resident_kb_of_weights(transcriber) > held / 2


def test_talk_that_no_command_sentence_fits_drops_the_grammars_command(tmp_path):
    pcm = pcm_of(tmp_path, "slow down")
    chatter = FixedTranscript("That film last night was rather boring.", {"That film last night": -40.0})
    assert Recognizer(transcriber=chatter).recognize(pcm).intent is None
    assert Recognizer(transcriber=FixedTranscript("Lovely weather.", {"Slow down": -40.0})).recognize(pcm).intent == "slower"


def test_a_grammar_sentence_moonshine_finds_far_less_likely_than_what_it_heard_is_dropped(tmp_path):
    pcm = pcm_of(tmp_path, "slow down")
    assert Recognizer(transcriber=FixedTranscript("The island.", {"slow down": -20.0})).recognize(pcm).intent is None
    assert Recognizer(transcriber=FixedTranscript("So down.", {"slow down": -5.0})).recognize(pcm).intent == "slower"
    # 10 nats behind is dropped only when each of the sentence's tokens is unlikely too (here -5.5, then -3.7)
    assert Recognizer(transcriber=FixedTranscript("Hello.", {"slow down": -11.0}, tokens=2)).recognize(pcm).intent is None
    assert Recognizer(transcriber=FixedTranscript("So done.", {"slow down": -11.0}, tokens=3)).recognize(pcm).intent == "slower"


def test_moonshine_scores_a_sentence_it_was_not_offered_against_the_same_audio(tmp_path, transcriber):
    heard = transcriber.hear(pcm_of(tmp_path, "slow down"))
    assert heard.fits == {} and heard.fit_of("Slow down") > heard.fit_of("Volume up") + 5


@pytest.mark.slow
def test_a_transcript_that_is_only_a_number_vetoes_the_grammars_command(tmp_path):
    pcm = pcm_of(tmp_path, "slow down")
    assert Recognizer(transcriber=FixedTranscript("Twenty-seven.")).recognize(pcm).intent is None
    assert Recognizer(transcriber=FixedTranscript("42")).recognize(pcm).intent is None
    assert Recognizer(transcriber=FixedTranscript("One.")).recognize(pcm).intent is None  # not "done"
    assert Recognizer(transcriber=FixedTranscript("A. D.")).recognize(pcm).intent is None  # "eighty", spelled
    assert Recognizer(transcriber=FixedTranscript("A.d.", {"Ready": -1.0})).recognize(pcm).intent is None
    assert Recognizer(transcriber=FixedTranscript("Slow down for 2 seconds")).recognize(pcm).intent == "slower"
    assert Recognizer.is_number("One hundred and five.") and not Recognizer.is_number("And?")  # "end", heard so


@pytest.mark.slow
def test_a_question_the_grammar_could_not_fit_is_answered_from_the_transcript():
    from voicecoach import knowledge
    noise = numpy.random.default_rng(2).normal(0, 30, 16000).astype(numpy.int16).tobytes()

    def heard(transcript):
        recognizer = Recognizer(question_matcher=knowledge.match_question, transcriber=FixedTranscript(transcript))
        return recognizer.recognize(noise)

    asked = heard("Should I put heat or ice on my calf?")
    assert (asked.intent, asked.topic, asked.extra["recognizer"]) == ("ask", "heat-or-ice", "moonshine")
    assert asked.extra["hypothesis"] is None  # asked plainly: answered without searching the grammar
    assert heard("Heat? Ice?").extra["hypothesis"] is not None  # two words: the grammar is searched first
    assert heard("This carpet really needs a good clean.").intent is None
    assert heard("").intent is None


def test_a_number_the_grammar_heard_is_not_answered_as_a_question(tmp_path):
    from voicecoach import knowledge
    recognizer = Recognizer(question_matcher=knowledge.match_question, transcriber=FixedTranscript("Hurting"))
    heard = recognizer.recognize(pcm_of(tmp_path, "thirteen"))
    assert heard.intent is None and Recognizer.is_number(heard.extra["hypothesis"])  # counting along


@pytest.mark.slow
def test_a_known_question_that_fits_the_audio_almost_as_well_as_the_transcript_is_answered():
    from voicecoach import knowledge
    noise = numpy.random.default_rng(2).normal(0, 30, 16000).astype(numpy.int16).tobytes()

    def heard(fit):
        transcript = FixedTranscript("Should I use heat or rice?", scores={"should i use heat or ice": fit})
        recognizer = Recognizer(question_texts=["should I use heat or ice"], question_matcher=knowledge.match_question,
                                transcriber=transcript)
        return recognizer.recognize(noise)

    assert (heard(-3.0).intent, heard(-3.0).topic) == ("ask", "heat-or-ice")  # 2 nats behind what was heard
    assert heard(-20.0).intent is None  # "rice" is no topic, and the question fits too badly


@pytest.mark.slow
def test_a_question_the_grammar_forced_onto_other_words_is_dropped(tmp_path):
    from voicecoach import knowledge
    pcm = pcm_of(tmp_path, "heat or ice")

    def heard(fit):
        transcript = FixedTranscript("Peter eyes.", scores={"heat or ice": fit}, tokens=4)
        return Recognizer(question_texts=["heat or ice"], question_matcher=knowledge.match_question,
                          transcriber=transcript).recognize(pcm)

    assert (heard(-2.0).intent, heard(-2.0).topic) == ("ask", "heat-or-ice")  # 1 nat behind what was heard
    assert (heard(-14.0).intent, heard(-14.0).topic) == ("ask", "heat-or-ice")  # far behind, but -3.5 a token
    assert heard(-30.0).intent is None  # television forced into a question sentence: -7.5 a token


def test_an_unwritable_cache_is_one_clear_error(tmp_path):
    from voicecoach.listening.moonshine import MoonshineUnavailable
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(MoonshineUnavailable, match="XDG_CACHE_HOME"):
        int8_model(model_dir() / "encoder_model.ort", blocker / "cache")


def test_a_failed_conversion_is_one_clear_error_and_leaves_nothing_behind(tmp_path, monkeypatch):
    import onnx
    from voicecoach.listening.moonshine import MoonshineUnavailable

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(onnx, "save", disk_full)
    with pytest.raises(MoonshineUnavailable, match="No space left on device"):
        int8_model(model_dir() / "encoder_model.ort", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_transcriber_leaves_the_grammars_answer(tmp_path):
    class Broken:
        def hear(self, pcm, alternatives=None):
            raise RuntimeError("model crashed")

    heard = Recognizer(transcriber=Broken()).recognize(pcm_of(tmp_path, "slow down"))
    assert heard.intent == "slower" and "model crashed" in heard.extra["transcriber_error"]


def test_an_abandoned_utterance_stops_after_moonshines_transcript_without_the_slow_path():
    noise = numpy.random.default_rng(1).normal(0, 30, 16000).astype(numpy.int16).tobytes()
    transcriber = FixedTranscript("Renew.", fits={"resume": -7.0}, logprob=-3.0)  # names no command
    recognizer = Recognizer(transcriber=transcriber)
    searched = []
    scores = recognizer.scores
    recognizer.scores = lambda *args, **kwargs: searched.append(1) or scores(*args, **kwargs)
    recognizer.abandoned = lambda: True  # the speaker went on
    heard = recognizer.recognize(noise)
    assert heard.intent is None and heard.extra["abandoned"]
    assert transcriber.calls == 1 and not searched  # not heard slower, and the grammar's answer not waited for
    recognizer.abandoned = lambda: False
    assert "abandoned" not in recognizer.recognize(noise).extra and searched and transcriber.calls >= 2
