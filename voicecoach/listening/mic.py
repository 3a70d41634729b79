"""The real Listener: microphone via SpeechRecognition/PyAudio, endpointing, offline recognition, own-voice filter."""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable

from voicecoach.audio_noise import quiet_stderr
from voicecoach.intents import normalise
from voicecoach.listening.echo import EchoCanceller, PlayedAudio
from voicecoach.listening.endpoint import FRAME_BYTES, FRAME_SECONDS, SAMPLE_RATE, Segmenter
from voicecoach.listening.factory import make_recognizer
from voicecoach.listening.remote import release_free_heap
from voicecoach.ports import Clock, Heard, ListeningContext, Notify

# Recognised words that the coach was saying, or stopped saying at most this long before the user's speech
# began, are its echo. Longer would swallow a quick "resume" after "say resume when you are ready": people
# answer about half a second after the coach stops, while a room's echo arrives within a few tenths.
ECHO_SECONDS = 0.3
# Word times inside a finished line are estimated by spreading its duration over its letters; this covers the
# estimate's error (a full stop's pause is about 0.3 s).
WORD_TIMING_SLACK = 0.5
# The coach is audible to the microphone (speakers, not headphones) when, during the median of its last three
# lines of a second or more, the endpointer heard speech this share of the time; with headphones it hears none
# unless the user talks over the coach. Then whatever overlaps one of its lines, or lies within a count, is taken
# as its voice: the words the recognizer makes of it rarely match the coach's ("Daphne, that didn't slow." became
# "that's enough", "The island." for the count "nine" became "go on").
AUDIBLE_SHARE = 0.5
AUDIBLE_LINES = 3
MIN_LINE_FRAMES = round(1.0 / FRAME_SECONDS)
# A count's echo starts after the count does; the endpointer may place the start up to a frame or two early.
COUNT_SLACK = 0.1
# After this many quiet 30 ms frames the open utterance is recognised while the endpointer waits out the rest of
# its 0.3 s window; an accepted guess is used at once, a rejected one falls back to the finished utterance. On
# the dev split 3, 4 and 5 frames all matched or beat the finished utterance alone; 5 wastes the fewest guesses
# on a speaker who goes on (25 per 300 utterances, against 53 and 94), but a guess that needs the grammar after
# Moonshine takes longer, and 3 frames start it early enough to be ready at the cut (listen_latency with both
# recognizers side by side: audio_end -> action median 496 ms at 5 frames, 369 ms at 3).
EARLY_AFTER_QUIET_FRAMES = 3
# How often the PulseAudio source that capture is attached to is looked up (about 1 ms a look-up).
SOURCE_CHECK_SECONDS = 0.5
PA_INVALID_INDEX = 0xFFFFFFFF
# With the echo canceller, how much it removes is reported (an "echo_removed" event) about this often.
SUMMARY_FRAMES = round(10.0 / FRAME_SECONDS)
ANCHOR_FRAMES = round(5.0 / FRAME_SECONDS)  # the microphone's start time is judged on this many latest frames
# The start time moves only later, and only when the earliest arrival is more than ANCHOR_SLIP after it: frames the
# device dropped (the count falls behind, and the reference would then come after its echo, which AEC3 cannot
# cancel), or a capture clock slower than the system's. Each move shifts the canceller's reference against the echo:
# in an idle session through the room loop a 17.5 ms move mid-sentence made both cancellers keep the echo for 200 ms
# (+1.6 dB), and the coach's own "wait a moment" paused the session. Never earlier: arrivals come sooner when the
# input's own buffering shrinks, not because the frames were captured sooner. In real sessions through the room loop
# the frames came 21-26 ms sooner twice in 600 s (once as a barge-in began); the start time followed, the echo came
# 25 ms sooner against the reference than for the 100 s before (cross-correlation: 107.7 ms, then 82.6), and the
# linear canceller kept all of the coach's next line for 7 s. A start time left late only gives the reference more
# lead.
ANCHOR_SLIP = 0.025


def steady_anchor(held: float | None, arrivals: Iterable[float]) -> float:
    """The microphone's start time: the earliest of `arrivals` (clock time of each frame's arrival less the frames
    before it), kept at `held` unless that has moved more than ANCHOR_SLIP later."""
    earliest = min(arrivals)
    return earliest if held is None or earliest - held > ANCHOR_SLIP else held


def find_input_device(wanted: str | int | None) -> int | None:
    """An input device index from an index or a (part of a) name; None means the system default."""
    if wanted is None or wanted == "":
        return None
    if isinstance(wanted, int) or str(wanted).isdigit():
        return int(wanted)
    import speech_recognition as sr
    with quiet_stderr():
        names = sr.Microphone.list_microphone_names()
    for index, name in enumerate(names):
        if str(wanted).lower() in (name or "").lower():
            return index
    raise ValueError(f"no input device matches {wanted!r}; `voicecoach devices` lists them")


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    monitor: bool        # the monitor of an output: it hears what is played, the coach's own voice first


class PulseSourceWatch:
    """Which PulseAudio (or PipeWire) source this process's capture stream records from. PortAudio reaches
    PulseAudio through ALSA's `pulse` device and cannot tell: when the microphone goes, PulseAudio moves the
    stream to another source, often the speaker's monitor, and the stream reads on as if nothing happened.
    libpulse (through pulsectl) is there wherever ALSA's pulse plugin is, so asking it works where the problem
    can happen; elsewhere current() is None."""

    def __init__(self):
        self._pulse = None

    def current(self) -> Source | None:
        try:
            if self._pulse is None:
                import pulsectl
                self._pulse = pulsectl.Pulse("voicecoach-input-watch", connect=False)
                self._pulse.connect(autospawn=False, timeout=1)  # never start a sound server of its own
            pid = str(os.getpid())
            for output in self._pulse.source_output_list():
                if output.proplist.get("application.process.id") == pid:
                    info = self._pulse.source_info(output.source)
                    monitor = info.monitor_of_sink != PA_INVALID_INDEX or info.proplist.get("device.class") == "monitor"
                    return Source(info.name, info.description, monitor)
        except Exception:  # no PulseAudio to ask, or it went away: ask again next time
            self.close()
        return None

    def close(self) -> None:
        if self._pulse is not None:
            with contextlib.suppress(Exception):
                self._pulse.close()
            self._pulse = None


@dataclass
class CoachLine:
    text: str
    kind: str            # "count" for a counted number, else a line of words
    began: float         # clock seconds
    stopped: float | None = None
    frames: int = 0      # microphone frames while it was spoken, and those in which the endpointer heard speech
    frames_in_speech: int = 0

    def audible_share(self) -> float | None:
        """The share of its frames in which the microphone heard speech; None for a count or under a second."""
        return self.frames_in_speech / self.frames if self.kind != "count" and self.frames >= MIN_LINE_FRAMES else None


class EchoFilter:
    """Remembers what the coach said recently; recognised text made only of words it was saying when the user's
    speech began (or a moment before) is the coach's echo. A reply to "Say resume when you are ready" that begins
    after the line ends is the user's: only the line's last words can still be sounding then. When the microphone
    hears the coach (speakers), whatever overlaps a line, or lies within a count, is taken as its echo."""

    def __init__(self):
        self.lock = threading.Lock()
        self.lines: list[CoachLine] = []  # the last minute's, the one being spoken last
        self.audible_shares: deque[float] = deque(maxlen=AUDIBLE_LINES)

    def coach_speaking(self, text: str | None, now: float, kind: str = "instruction") -> None:
        with self.lock:
            speaking = self._speaking()
            if speaking is not None:
                speaking.stopped = now
                if (share := speaking.audible_share()) is not None:
                    self.audible_shares.append(share)
            self.lines = [line for line in self.lines if now - line.stopped < 60]
            if text is not None:
                self.lines.append(CoachLine(text, kind, now))

    def mic_frame(self, in_speech: bool) -> None:
        """One 30 ms microphone frame went by, in which the endpointer did or did not hear speech."""
        with self.lock:
            speaking = self._speaking()
            if speaking is not None:
                speaking.frames += 1
                speaking.frames_in_speech += in_speech

    def coach_audible(self) -> bool:
        """Whether the microphone hears the coach's lines; until one has ended, judged on the line being spoken."""
        with self.lock:
            shares = sorted(self.audible_shares)
            speaking = self._speaking()
            if not shares and speaking is not None and speaking.audible_share() is not None:
                shares = [speaking.audible_share()]
        return bool(shares) and shares[len(shares) // 2] >= AUDIBLE_SHARE

    def is_coach_voice(self, speech_start: float, speech_end: float) -> bool:
        """With speakers: the utterance overlaps one of the coach's lines, or lies within a count."""
        return self.coach_audible() and any(
            line.began <= speech_end and (line.kind != "count" or (
                speech_start >= line.began - COUNT_SLACK
                and (line.stopped is None or speech_end <= line.stopped + ECHO_SECONDS)))
            for line in self._sounding(speech_start))

    def overlaps_coach(self, speech_start: float, speech_end: float) -> bool:
        """Any of the coach's lines or counts was sounding during the utterance (or stopped just before it)."""
        return any(line.began <= speech_end for line in self._sounding(speech_start))

    def forget_audibility(self) -> None:
        """The input changed: whether it hears the coach is to be learnt again."""
        with self.lock:
            self.audible_shares.clear()

    def is_coach_words(self, heard_text: str, speech_start: float) -> bool:
        """The recognised text is made only of words the coach was saying as the user's speech began."""
        words = set(normalise(heard_text).split())
        since = speech_start - ECHO_SECONDS
        return bool(words) and any(
            words <= (set(normalise(line.text).split()) if line.stopped is None
                      else words_said_after(line.text, line.began, line.stopped, since - WORD_TIMING_SLACK))
            for line in self._sounding(speech_start) if line.kind != "count")

    def _sounding(self, speech_start: float) -> list[CoachLine]:
        """The lines still being spoken, or stopped at most ECHO_SECONDS before the user's speech began."""
        with self.lock:
            return [line for line in self.lines if line.stopped is None or line.stopped >= speech_start - ECHO_SECONDS]

    def _speaking(self) -> CoachLine | None:
        return self.lines[-1] if self.lines and self.lines[-1].stopped is None else None


def words_said_after(line: str, began: float, stopped: float, moment: float) -> set[str]:
    """The words of a finished line that the coach was still saying at or after `moment`, estimated by spreading
    the line's duration evenly over its letters."""
    text = normalise(line)
    from_letter = (moment - began) / max(stopped - began, 1e-6) * len(text)
    said, at = set(), 0
    for word in text.split():
        at = text.index(word, at) + len(word)
        if at >= from_letter:
            said.add(word)
    return said


class _Claim:
    """One utterance is posted once: by its early guess's callback (decoder thread) or by its cut (recognizer
    thread), whichever takes it first; withdrawn when the speaker goes on or the cut comes."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open = True
        self.posted = False

    def take(self) -> bool:
        with self._lock:
            if not self._open:
                return False
            self._open, self.posted = False, True
            return True

    def withdraw(self) -> None:
        with self._lock:
            self._open = False


class MicListener:
    """Listener port: start(post) begins capture and recognition threads; stop() releases the microphone."""

    def __init__(self, clock: Clock, *, device: str | int | None = None, recognizer=None,
                 recognizer_factory: Callable[[], object] | None = None,
                 notify: Notify | None = None, microphone_factory: Callable | None = None,
                 source_watch: PulseSourceWatch | None = None, played: PlayedAudio | None = None):
        """With `played` (what the speaker plays, with its times), every frame goes through the echo canceller
        and the coach's voice is judged by signal; without it (Speech Dispatcher, --no-echo-cancel) by its words."""
        self.clock = clock
        self.played = played
        self.canceller: EchoCanceller | None = None  # made by the capture thread when the microphone opens
        self.device = device
        self.notify = notify or (lambda event, fields: None)
        self._recognizer = recognizer
        self.recognizer_factory = recognizer_factory or make_recognizer
        self.context: ListeningContext | None = None  # what the session would act on now, once told
        self.microphone_factory = microphone_factory or self._speech_recognition_microphone
        self.echo = EchoFilter()
        # (what endpointing and the echo judgement hear, what the recognizer hears) per frame: AEC3's output and the
        # linear canceller's, which keeps the user's voice while both talk (benchmarks/listen_doubletalk.py)
        self.frames: queue.Queue[tuple[bytes, bytes] | None] = queue.Queue(maxsize=2000)
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.lost_reported = False
        self.audible_reported = False
        self.stream_anchor: float | None = None  # clock seconds at the start of the first captured frame
        self.source_watch = source_watch or PulseSourceWatch()
        # After the input changed (or when it is an output's monitor), what it hears may be the coach itself:
        # no command is taken from it until an utterance comes while the coach is silent, which only the user
        # can make. A monitor hears nothing else.
        self.untrusted = False

    @staticmethod
    def _speech_recognition_microphone(device_index):
        import speech_recognition as sr
        return sr.Microphone(device_index=device_index, sample_rate=SAMPLE_RATE, chunk_size=FRAME_BYTES // 2)

    def start(self, post: Callable[[Heard], None]) -> None:
        self.threads = [threading.Thread(target=self._capture, name="mic-capture", daemon=True),
                        threading.Thread(target=self._recognize, args=(post,), name="mic-recognize", daemon=True),
                        threading.Thread(target=self._watch_source, name="mic-source", daemon=True)]
        for thread in self.threads:
            thread.start()

    def coach_speaking(self, text: str | None, kind: str = "instruction") -> None:
        if self.played is not None:
            return  # the canceller hears what the coach plays; what it says does not matter
        self.echo.coach_speaking(text, self.clock.now(), kind)
        if not self.audible_reported and self.echo.coach_audible():
            self.audible_reported = True
            self.notify("coach_audible", {"t": self.clock.now()})

    def expect(self, context: ListeningContext) -> None:
        self.context = context
        getattr(self._recognizer, "expect", lambda context: None)(context)  # the optional recognizers take none

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=2)
        getattr(self._recognizer, "close", lambda: None)()  # the one in a process of its own ends it

    def _lost(self, error: BaseException | str) -> None:
        if not self.lost_reported:
            self.lost_reported = True
            self.notify("input_lost", {"error": str(error)})

    def _watch_source(self) -> None:
        """Notice the capture stream moved to another source (a removed microphone); say so once per change."""
        attached: Source | None = None
        try:
            while not self.stopping.wait(SOURCE_CHECK_SECONDS):
                source = self.source_watch.current()
                if source is None or source == attached:
                    continue
                changed = attached is not None
                attached = source
                if changed or source.monitor:
                    self.untrusted = True
                    self.echo.forget_audibility()
                    self.notify("input_changed", {"source": source.description, "monitor": source.monitor,
                                                  "changed": changed, "t": self.clock.now()})
        finally:
            self.source_watch.close()

    def _release_memory(self) -> None:
        getattr(self._recognizer, "release_memory", lambda: None)()  # the optional recognizers hold none to give
        release_free_heap()

    def _capture(self) -> None:
        try:
            with quiet_stderr():
                microphone = self.microphone_factory(find_input_device(self.device))
                source = microphone.__enter__()
            if getattr(source, "stream", True) is None:  # SpeechRecognition hides a failed open this way
                raise OSError("no input device could be opened")
            # Cleaned here, as frames arrive, not after the recognizer's backlog: the played audio is kept only
            # for a few seconds, and AEC3 wants the reference and the microphone in step.
            self.canceller = EchoCanceller(self.played) if self.played is not None else None
            fed, arrivals, anchor = 0, deque(maxlen=ANCHOR_FRAMES), None
            try:
                while not self.stopping.is_set():
                    frame = source.stream.read(FRAME_BYTES // 2)
                    # A frame that waited in the device's buffer arrives late; the earliest arrival against the
                    # frames counted, over the last few seconds, is the truest start (the echo canceller needs it
                    # within a few tens of ms). Only the last few seconds: frames the device dropped make the
                    # count fall behind, and the start must then move later.
                    arrivals.append(self.clock.now() - (fed + 1) * FRAME_SECONDS)
                    self.stream_anchor = anchor = steady_anchor(anchor, arrivals)
                    if len(frame) == FRAME_BYTES:
                        heard = frame
                        if self.canceller is not None:
                            cleaned = self.canceller.clean(frame, self.stream_anchor + fed * FRAME_SECONDS)
                            frame, heard = cleaned.pcm, cleaned.linear
                            if fed % SUMMARY_FRAMES == SUMMARY_FRAMES - 1 and (summary := self.canceller.summary()):
                                self.notify("echo_removed", {"t": self.clock.now(), **dataclasses.asdict(summary)})
                        fed += 1
                        self.frames.put((frame, heard), timeout=1)
            finally:
                with contextlib.suppress(Exception):
                    microphone.__exit__(None, None, None)
        except Exception as error:  # any device failure: report once, keep the program alive
            self._lost(error)
        finally:
            self.frames.put(None)

    @staticmethod
    def _decoded(decoding: Future) -> Heard:
        """The recognizer's answer, or not understood if it failed on this utterance: listening goes on."""
        try:
            return decoding.result()
        except Exception as error:
            return Heard("", None, None, 0.0, None, {"recognizer_error": repr(error), "near_miss": False})

    def _act_early(self, post: Callable[[Heard], None], claim: "_Claim", speech_start: float, audio_end: float,
                   decoding: Future) -> None:
        """Barge-in: a command recognised from the open utterance, three quiet frames after the speech, is posted
        at once, without waiting out the endpointer's 0.3 s window, when it is surely the user's; the cut of the
        utterance then posts nothing. From the decoder's thread; the utterance's cut may race it (see _Claim)."""
        if decoding.cancelled():
            return
        heard = self._decoded(decoding)
        if heard.intent is None or self.untrusted:
            return
        canceller = self.canceller
        verdict = canceller.judge(speech_start, audio_end) if canceller is not None else None
        if verdict.echo if verdict is not None else (self.echo.is_coach_voice(speech_start, audio_end)
                                                       or self.echo.is_coach_words(heard.text, speech_start)):
            return  # left to the utterance's cut, which says it was the coach's echo
        signal = {} if verdict is None or not verdict.coach_sounding else {"echo_kept_db": verdict.kept_db}
        heard = dataclasses.replace(heard, audio_end=audio_end,
                                    extra={**heard.extra, **signal, "early": True, "before_cut": True})
        if claim.take():
            post(heard)

    def _user_began(self, segmenter: Segmenter) -> bool:
        """The open utterance is the user's, not the coach's echo, so far: tell the coach to give way at once
        (it goes on when told user_quiet). True once told."""
        if self.untrusted:
            return False
        start = self.stream_anchor + segmenter.start_frame * FRAME_SECONDS
        end = self.stream_anchor + segmenter.fed * FRAME_SECONDS
        canceller = self.canceller
        echo = canceller.judge(start, end).echo if canceller is not None else self.echo.is_coach_voice(start, end)
        if not echo:
            self.notify("user_speaking", {"t": self.clock.now()})
        return not echo

    def _recognize(self, post: Callable[[Heard], None]) -> None:
        if self._recognizer is None:  # built here, so the coach starts talking while the models load
            try:
                self._recognizer = self.recognizer_factory()
                if self.context is not None:
                    self.expect(self.context)  # told before the models had loaded
            except Exception as error:  # a broken install: say so once, typed commands still work
                self._lost(error)
                return
        segmenter = Segmenter()
        heard_frames: deque[bytes] = deque(maxlen=segmenter.history.maxlen)  # in step with segmenter.history

        def for_recognizer(pcm: bytes, repeated: int = 0) -> bytes:
            """The recognizer's frames over the span of the segmenter's `pcm` (its last `repeated` frames repeated)."""
            frames = list(heard_frames)[len(heard_frames) - (len(pcm) // FRAME_BYTES - repeated):]
            return b"".join(frames + frames[len(frames) - repeated:]) if repeated else b"".join(frames)

        decoding = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mic-decode")  # one decoder, one caller
        early: Future | None = None
        claim = _Claim()  # who posts the open utterance: its accepted early guess, at once, or its cut
        user_speaking = quiet_next = False  # the coach was told the user began; is to be told they finished
        while True:
            if quiet_next:
                quiet_next = False
                self.notify("user_quiet", {"t": self.clock.now()})
            item = self.frames.get()
            if item is None:
                decoding.shutdown(wait=False, cancel_futures=True)
                return
            frame, heard_frame = item
            heard_frames.append(heard_frame)
            canceller = self.canceller
            utterance = segmenter.feed(frame)
            if canceller is None:
                self.echo.mic_frame(segmenter.in_speech)
            if utterance is None and segmenter.in_speech and not user_speaking:
                user_speaking = self._user_began(segmenter)
            elif utterance is not None and user_speaking:
                user_speaking = False  # told once what became of it: the heard below is posted first
                quiet_next = True
            if utterance is None:
                if segmenter.quiet_frames == 0:
                    if early is not None and not early.done() and not early.cancel():  # the speaker went on: it heard part
                        getattr(self._recognizer, "abandon", lambda: None)()  # and must not hold up the next one
                    early = None
                    claim.withdraw()
                    if claim.posted:  # after a command already acted on ("wait, it hurts"): the rest is heard too
                        segmenter.begin_again()
                        claim = _Claim()
                elif segmenter.quiet_frames == EARLY_AFTER_QUIET_FRAMES and early is None and not claim.posted:
                    guess = segmenter.provisional()
                    claim = _Claim()
                    early = decoding.submit(self._recognizer.recognize,
                                            for_recognizer(guess.pcm, segmenter.quiet_frames))
                    early.add_done_callback(functools.partial(
                        self._act_early, post, claim, self.stream_anchor + guess.start,
                        self.stream_anchor + guess.end - segmenter.quiet_frames * FRAME_SECONDS))
                continue
            claim.withdraw()  # from now on the cut posts it, unless its early guess has already
            if claim.posted:  # its early guess was acted on already (barge-in): the rest of it is not news
                early, claim = None, _Claim()
                decoding.submit(self._release_memory)  # as after any utterance: the decoding's working memory
                continue
            cut_at = time.perf_counter()
            audio_end = self.stream_anchor + utterance.end
            speech_start = self.stream_anchor + utterance.start
            verdict = canceller.judge(speech_start, audio_end) if canceller is not None else None
            signal = {} if verdict is None or not verdict.coach_sounding else {"echo_kept_db": verdict.kept_db}
            if self.untrusted:
                coach = verdict.coach_sounding if verdict is not None else self.echo.overlaps_coach(speech_start,
                                                                                                     audio_end)
                if coach:  # perhaps the coach, heard on a new input
                    early = None
                    post(Heard("", None, None, 0.0, audio_end, {"echo": True, "untrusted": True, "near_miss": False}))
                    continue
                self.untrusted = False  # the coach was silent: this is the user
            if verdict.echo if verdict is not None else self.echo.is_coach_voice(speech_start, audio_end):
                early = None  # not worth decoding: its text cannot count
                post(Heard("", None, None, 0.0, audio_end, {"echo": True, "near_miss": False, **signal}))
                continue
            heard = self._decoded(early) if early is not None else None
            if heard is None or heard.intent is None:
                heard = self._decoded(decoding.submit(self._recognizer.recognize, for_recognizer(utterance.pcm)))
            else:
                heard.extra["early"] = True
            heard.extra["decode_wait_ms"] = round((time.perf_counter() - cut_at) * 1000, 1)  # after the endpoint
            early = None
            heard = dataclasses.replace(heard, audio_end=audio_end, extra={**heard.extra, **signal})
            acted_on = heard.intent is not None or heard.extra.get("near_miss")
            if acted_on and canceller is None and self.echo.is_coach_words(heard.text, speech_start):
                heard = Heard(heard.text, None, None, heard.confidence, audio_end,
                              {**heard.extra, "echo": True, "near_miss": False})
            post(heard)
            decoding.submit(self._release_memory)
