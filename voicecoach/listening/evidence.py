"""Evidence: everything the recognizers can say about one utterance, as a typed record, with no decision in it."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy

from voicecoach.intents import command_of
from voicecoach.listening.denoise import speech_to_noise_db


@dataclass(frozen=True)
class Evidence:
    """One utterance's evidence, pure given its audio (and the echo canceller's verdict, when there is one).
    Log-probabilities are Moonshine's (natural log); gaps are pocketsphinx's (log base 1.0001 a frame)."""
    seconds: float                        # length of the audio
    loudness_dbfs: float                  # RMS of its loudest frames (within 30 dB of the loudest)
    speech_to_noise_db: float             # loudest frames over quietest (denoise.speech_to_noise_db)
    voiced_frames: int                    # loud, periodic 10 ms frames (recognizer.voiced_frames)
    transcript: str                       # Moonshine's free transcript ("" when it heard nothing or failed)
    transcript_logprob: float             # of the transcript itself
    transcript_per_token: float | None    # the same per token, or None if unknown
    transcript_is_number: bool            # counting along: "Twenty-one."
    best_command: str | None              # the command sentence of the whole grammar Moonshine finds likeliest
    best_command_fit: float               # its log-probability (-inf when none)
    best_command_per_token: float | None
    other_command_fit: float              # the likeliest sentence of any other command (-inf when none)
    best_question: str | None             # of the known question sentences nearest the transcript, the likeliest
    best_question_fit: float              # its log-probability (-inf when none)
    grammar_text: str                     # pocketsphinx's grammar hypothesis ("" when unvoiced: not decoded)
    grammar_complete: bool                # it reached the end of a phrase or question
    grammar_gap: float                    # per frame, the grammar's score behind the free phone loop's (inf: none)
    grammar_is_number: bool
    extra_vowels: int                     # vowels the phone loop heard beyond the grammar text's
    politeness_words: int                 # optional words the grammar put around its phrase (0-2)
    meaning: dict[str, float] = field(default_factory=dict)  # the transcript's meaning: each intent's probability
    echo_kept_db: float | None = None     # the echo canceller's verdict: the coach's voice kept under the speech

    @property
    def best_command_intent(self) -> str | None:
        return command_of(self.best_command)[0] if self.best_command else None

    def features(self) -> dict[str, float]:
        """Numbers a fitted decision can weigh, named; infinities clipped."""
        def finite(x: float | None, clip: float = 60.0) -> float:
            return 0.0 if x is None or math.isnan(x) else max(-clip, min(clip, x))
        return {"seconds": self.seconds, "loudness_dbfs": self.loudness_dbfs,
                "speech_to_noise_db": self.speech_to_noise_db, "voiced_frames": float(self.voiced_frames),
                "transcript_words": float(len(self.transcript.split())),
                "transcript_per_token": finite(self.transcript_per_token),
                "transcript_is_number": float(self.transcript_is_number),
                "command_trail": finite(self.transcript_logprob - self.best_command_fit),
                "command_lead": finite(self.best_command_fit - self.other_command_fit),
                "command_per_token": finite(self.best_command_per_token),
                "question_trail": finite(self.transcript_logprob - self.best_question_fit),
                "grammar_complete": float(self.grammar_complete), "grammar_gap": finite(self.grammar_gap, 500.0),
                "grammar_is_number": float(self.grammar_is_number), "extra_vowels": float(self.extra_vowels),
                "politeness_words": float(self.politeness_words),
                "meaning_nothing": self.meaning.get("nothing", 1.0),
                "meaning_best": max((p for k, p in self.meaning.items() if k != "nothing"), default=0.0)}


def loudness_dbfs(pcm: bytes) -> float:
    """RMS of the 20 ms frames within 30 dB of the loudest, in dB below full scale."""
    x = numpy.frombuffer(pcm, numpy.int16).astype(numpy.float64) / 32768
    frames = x[: len(x) // 320 * 320].reshape(-1, 320)
    if not len(frames):
        return -120.0
    energy = (frames ** 2).mean(axis=1)
    active = energy[energy >= energy.max() / 1000]
    return float(10 * numpy.log10(max(active.mean(), 1e-12)))


def measured(pcm: bytes) -> tuple[float, float, float]:
    """(seconds, loudness dBFS, speech-to-noise dB) of pcm16 mono 16 kHz."""
    return len(pcm) / 32000, loudness_dbfs(pcm), speech_to_noise_db(pcm)
