"""Offline command recognition: one persistent pocketsphinx Decoder, a JSGF grammar and phone-loop rejection."""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Callable, Iterable

import pocketsphinx

from voicecoach.intents import normalise, parse, vocabulary
from voicecoach.listening.grammar import compile_jsgf, extra_pronunciations, listening_words
from voicecoach.ports import Heard

QuestionMatcher = Callable[[str], "tuple[str | None, float]"]

GRAMMAR, PHONES = "grammar", "phones"
VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())


@dataclass(frozen=True)
class Tuning:
    """Chosen on the dev split: .venv/bin/python benchmarks/listen_accuracy.py --split dev --tune."""
    # Reject when the grammar's acoustic score per frame trails a free phone loop's by more than this
    # (log base 1.0001 units): chatter forced into a command phrase fits much worse than a phone loop.
    # Dev: 20 -> 72.5% clean commands, 15.8% false; 24 -> 79% / 21%. A wrong "stop" mid-hold costs more
    # than saying a command twice, so the stricter one.
    max_gap_per_frame: float = 20.0
    # A command has a vowel; coughs, claps and knocks give the phone loop none.
    min_vowels: int = 1
    # Spread of the logistic that turns the gap into a 0..1 confidence.
    confidence_scale: float = 6.0


def model_paths() -> dict[str, str]:
    root = pocketsphinx.get_model_path()
    return {"hmm": os.path.join(root, "en-us", "en-us"),
            "dict": os.path.join(root, "en-us", "cmudict-en-us.dict"),
            "phone_lm": os.path.join(root, "en-us", "en-us-phone.lm.bin")}


class Recognizer:
    """recognize(pcm16 mono 16 kHz) -> Heard. Not thread-safe: one caller at a time."""

    def __init__(self, question_texts: Iterable[str] = (), question_matcher: QuestionMatcher | None = None,
                 tuning: Tuning = Tuning(), decoder_options: dict | None = None):
        paths = model_paths()
        # bestpath=False: the lattice pass returned unfinished phrases ("where are" for "where") far more often.
        self.decoder = pocketsphinx.Decoder(hmm=paths["hmm"], dict=paths["dict"], lm=None, bestpath=False,
                                            logfn=os.devnull, **(decoder_options or {}))
        for word, phones in extra_pronunciations().items():
            if self.decoder.lookup_word(word) is None:
                self.decoder.add_word(word, phones, False)
        # A question with a word the dictionary lacks cannot be in the grammar; typed input still reaches it.
        question_texts = [q for q in map(normalise, question_texts)
                          if q and all(self.decoder.lookup_word(w) is not None for w in q.split())]
        self.decoder.add_jsgf_string(GRAMMAR, compile_jsgf(question_texts))
        self.decoder.add_allphone_file(PHONES, paths["phone_lm"])
        self.logmath = self.decoder.get_logmath()
        self.questions = question_matcher
        self.question_texts = set(question_texts)
        self.tuning = tuning

    @classmethod
    def with_knowledge(cls) -> "Recognizer":
        """A recogniser whose grammar also holds the knowledge base's example questions."""
        from voicecoach import knowledge
        examples = [q for topic in knowledge.load().topics.values() for q in topic.examples]
        return cls(question_texts=examples, question_matcher=knowledge.match_question)

    def _decode(self, search: str, pcm: bytes) -> tuple[str, int, int]:
        """(text, acoustic log score, frames spent in words rather than silence)."""
        decoder = self.decoder
        decoder.activate_search(search)
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        # The bindings hand scores back exponentiated; take them back to integer log units to sum them.
        log = self.logmath.log
        segments = list(decoder.seg() or ()) if hyp else []
        score = sum(log(seg.ascore) if seg.ascore > 0 else -10**9 for seg in segments)
        spoken = sum(seg.end_frame - seg.start_frame + 1 for seg in segments
                     if not seg.word.startswith(("<", "[", "(", "+")) and seg.word not in ("SIL",))
        return (hyp.hypstr if hyp else ""), score, spoken

    def scores(self, pcm: bytes) -> dict:
        """The raw evidence: grammar text, and the per-frame acoustic gap to an unconstrained phone loop."""
        text, grammar_score, spoken = self._decode(GRAMMAR, pcm)
        frames = self.decoder.n_frames()
        phones, phone_score, _ = self._decode(PHONES, pcm)
        return {"text": text, "gap": (phone_score - grammar_score) / max(frames, 1),
                "vowels": sum(phone in VOWELS for phone in phones.split()),
                "gap_spoken": (phone_score - grammar_score) / max(spoken, 1),
                "frames": frames, "spoken": spoken, "complete": self.is_complete(text)}

    def is_complete(self, text: str) -> bool:
        """Whether the grammar reached its end: an unfinished path comes back when nothing fitted."""
        words = listening_words()
        core = normalise(text)
        for prefix in words.prefixes:
            if core.startswith(prefix + " ") and core[len(prefix) + 1:] in self._sentences():
                return True
        for suffix in words.suffixes:
            if core.endswith(" " + suffix):
                core = core[: -len(suffix) - 1]
                break
        for prefix in words.prefixes:
            if core.startswith(prefix + " ") and core[len(prefix) + 1:] in self._sentences():
                return True
        return core in self._sentences()

    def _sentences(self) -> set[str]:
        return set(vocabulary().phrases) | self.question_texts

    def accepts(self, evidence: dict) -> bool:
        return (evidence["complete"] and evidence["vowels"] >= self.tuning.min_vowels
                and evidence["gap"] <= self.tuning.max_gap_per_frame)

    def recognize(self, pcm: bytes, audio_end: float | None = None) -> Heard:
        started = time.perf_counter()
        evidence = self.scores(pcm)
        decode_ms = (time.perf_counter() - started) * 1000
        confidence = 1 / (1 + math.exp((evidence["gap"] - self.tuning.max_gap_per_frame)
                                       / self.tuning.confidence_scale))
        accepted = self.accepts(evidence)
        extra = {"decode_ms": round(decode_ms, 1), "gap": round(evidence["gap"], 1),
                 "hypothesis": evidence["text"], "recogniser": "pocketsphinx"}
        if not accepted:
            return Heard(evidence["text"], None, None, round(confidence, 3), audio_end, extra)
        heard = parse(evidence["text"], questions=self.questions)
        return Heard(heard.text, heard.intent, heard.topic, round(confidence, 3), audio_end, extra)
