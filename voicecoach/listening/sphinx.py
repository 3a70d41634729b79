"""pocketsphinx's searches of an utterance (the grammar, a free phone loop): here, or in a process beside Moonshine."""
from __future__ import annotations

import itertools
import math
import os
import pickle
import queue
import subprocess
import tempfile
import threading
from typing import IO, Any, Callable

import pocketsphinx

from voicecoach.intents import normalise
from voicecoach.listening import RecognizerUnavailable
from voicecoach.listening.remote import child_channels, end_child, start_child
from voicecoach.listening.grammar import (compile_jsgf, extra_pronunciations, grammar_words, listening_words,
                                          spoken_phrases)

GRAMMAR, PHONES = "grammar", "phones"
VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())
NOT_SEARCHED = {"text": "", "gap": math.inf, "vowels": 0, "text_vowels": 0, "complete": False, "question": False,
                "politeness_words": 0}
RESTARTS = 3  # times a child that died is started again before the searches give up
# Below the process that starts it (Moonshine's): when the cores are short, Moonshine's transcript, which most
# often decides alone, comes first, and the grammar's search, needed less often, waits.
NICER = 5


def model_paths() -> dict[str, str]:
    root = pocketsphinx.get_model_path()
    return {"hmm": os.path.join(root, "en-us", "en-us"),
            "dict": os.path.join(root, "en-us", "cmudict-en-us.dict"),
            "phone_lm": os.path.join(root, "en-us", "en-us-phone.lm.bin")}


def pronunciations_of(words: set[str], dictionary: str) -> str:
    """The lines of a pronouncing dictionary for these words only, alternative pronunciations included. The decoder
    then holds the grammar's few hundred words instead of all 134,000: 22 MB less resident memory."""
    with open(dictionary, encoding="utf-8") as lines:
        return "".join(line for line in lines if line.split(" ", 1)[0].split("(", 1)[0] in words)




def sentence_of(text: str, question_texts: set[str]) -> str | None:
    """The grammar's phrase or question inside the politeness words, or None when the grammar did not reach
    its end: an unfinished path comes back when nothing fitted."""
    sentences, words = set(spoken_phrases()) | question_texts, listening_words()
    core = normalise(text)
    for candidate in [core] + [core[:-len(s) - 1] for s in words.suffixes if core.endswith(" " + s)]:
        if candidate in sentences:
            return candidate
        for prefix in words.prefixes:
            if candidate.startswith(prefix + " ") and candidate[len(prefix) + 1:] in sentences:
                return candidate[len(prefix) + 1:]
    return None


def politeness_words(text: str, question_texts: set[str]) -> int:
    """How many optional words (a prefix, a suffix) the grammar put around the phrase: 0, 1 or 2."""
    core = normalise(text)
    if core in set(spoken_phrases()) | question_texts:
        return 0
    words = listening_words()
    return (any(core.startswith(p + " ") for p in words.prefixes)
            + any(core.endswith(" " + s) for s in words.suffixes))


class GrammarSearch:
    """One pocketsphinx decoder holding the grammar (commands, the questions given, routine names) and a free phone
    loop. begin() is for GrammarProcess's sake: here the searches run when their result is asked for."""

    def __init__(self, question_texts: list[str], decoder_options: dict | None = None):
        paths = model_paths()
        question_texts = [q for q in map(normalise, question_texts) if q]
        needed = grammar_words(question_texts) | set(extra_pronunciations())
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".dict") as dictionary:
            dictionary.write(pronunciations_of(needed, paths["dict"]))
            dictionary.flush()
            # bestpath=False: the lattice pass returned unfinished phrases ("where are" for "where") far more often.
            self.decoder = pocketsphinx.Decoder(hmm=paths["hmm"], dict=dictionary.name, lm=None, bestpath=False,
                                                logfn=os.devnull, **(decoder_options or {}))
        for word, phones in extra_pronunciations().items():
            if self.decoder.lookup_word(word) is None:
                self.decoder.add_word(word, phones, False)
        # A question with a word the dictionary lacks cannot be in the grammar; typed input still reaches it.
        question_texts = [q for q in question_texts if all(self.decoder.lookup_word(w) is not None for w in q.split())]
        self.decoder.add_jsgf_string(GRAMMAR, compile_jsgf(question_texts))
        self.decoder.add_allphone_file(PHONES, paths["phone_lm"])
        self.logmath = self.decoder.get_logmath()
        self.question_texts = set(question_texts)
        self.superseded: Callable[[], bool] = lambda: False  # a newer utterance's search waits: this one is not wanted

    def begin(self, pcm: bytes, exhaustive: bool = False) -> None:
        """Nothing to start ahead in this process."""

    def lookup_word(self, word: str) -> str | None:
        return self.decoder.lookup_word(word)

    def _decode(self, search: str | None, pcm: bytes) -> tuple[str, int, int]:
        """(text, acoustic log score, frames spent in words rather than silence) of the named search, or with
        search None of the alignment set just before."""
        decoder = self.decoder
        if search is not None:
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

    def scores(self, pcm: bytes, exhaustive: bool = False) -> dict:
        """The evidence: grammar text, and the per-frame acoustic gap to an unconstrained phone loop. Unless
        exhaustive, an unfinished or number-only grammar path is not searched with the phone loop."""
        evidence: dict[str, Any] = dict(NOT_SEARCHED)
        text, grammar_score, _ = self._decode(GRAMMAR, pcm)
        frames = self.decoder.n_frames()
        sentence = sentence_of(text, self.question_texts)
        evidence.update(text=text, complete=sentence is not None, question=sentence in self.question_texts,
                        text_vowels=self.vowels_of(text), politeness_words=politeness_words(text, self.question_texts))
        if (not exhaustive and not evidence["complete"]) or self.superseded():
            return evidence
        phones, phone_score, _ = self._decode(PHONES, pcm)
        evidence.update(gap=(phone_score - grammar_score) / max(frames, 1), phone_score=phone_score,
                        vowels=sum(phone in VOWELS for phone in phones.split()))
        return evidence

    def alignment_gap(self, pcm: bytes, sentence: str, phone_score: int | None) -> tuple[float | None, int]:
        """How much worse, per frame, pocketsphinx fits the audio to this very sentence than a free phone loop does
        (the grammar's gap, for one sentence), or None if it cannot align them; and the phone loop's score, searched
        when not given."""
        if phone_score is None:
            phone_score = self._decode(PHONES, pcm)[1]
        try:
            self.decoder.set_align_text(normalise(sentence))
        except RuntimeError:  # a word it cannot pronounce
            return None, phone_score
        text, score, _ = self._decode(None, pcm)
        return ((phone_score - score) / max(self.decoder.n_frames(), 1) if text else None), phone_score

    def vowels_of(self, text: str) -> int:
        return sum(phone in VOWELS for word in text.split() for phone in (self.decoder.lookup_word(word) or "").split())


class GrammarProcess:
    """GrammarSearch in a child process. pocketsphinx keeps Python's interpreter lock for the whole of each search,
    so in Moonshine's process the searches could only follow its transcription; begin() starts them there as the
    transcription starts, on the other core, and a result nobody asks for (Moonshine understood) is dropped. One
    caller at a time, as for the recognizer. The child ends when this process closes its input or ends."""

    def __init__(self, question_texts: list[str]):
        self._build = ("build", list(question_texts))
        self._ids = itertools.count()
        self._replies: dict[int, tuple[str, Any]] = {}
        self._arrived = threading.Condition()
        self._begun: tuple[bytes, bool, int] | None = None
        self._child: subprocess.Popen | None = None
        self._restarts = -1
        self.question_texts: set[str] = self._result(self._start())

    def _start(self) -> int:
        """Start the child and ask it to build its searches; the number of that request."""
        if self._restarts >= RESTARTS:
            raise RecognizerUnavailable("The grammar's process keeps stopping.")
        self._restarts += 1
        self._child = start_child("voicecoach.listening.sphinx", "grammar")
        threading.Thread(target=self._read, args=(self._child,), daemon=True, name="grammar-replies").start()
        return self._send(self._build)

    def _read(self, child: subprocess.Popen) -> None:
        """Every reply as it comes, so that the child never waits to write one that nobody has asked for yet."""
        assert child.stdout is not None
        while True:
            try:
                number, reply = pickle.load(child.stdout)
            except (OSError, EOFError, pickle.UnpicklingError):
                break
            with self._arrived:
                self._replies = {n: r for n, r in self._replies.items() if n > number - 8}  # old ones: not wanted
                self._replies[number] = reply
                self._arrived.notify_all()
        with self._arrived:
            self._arrived.notify_all()

    def _send(self, request: tuple) -> int:
        child = self._child
        assert child is not None and child.stdin is not None
        number = next(self._ids)
        pickle.dump((number, request), child.stdin)
        child.stdin.flush()
        return number

    def _request(self, *request: Any) -> int:
        if self._child is None or self._child.poll() is not None:
            self._start()  # its build is answered before the request: the child answers in order
        try:
            return self._send(request)
        except OSError:  # it ended as it was told
            self._start()
            return self._send(request)

    def _result(self, number: int) -> Any:
        child = self._child
        with self._arrived:
            while number not in self._replies:
                if child is None or child.poll() is not None:
                    status = child.returncode if child is not None else None
                    raise RecognizerUnavailable(f"The grammar's process stopped (exit status {status}).")
                self._arrived.wait(0.5)
            kind, value = self._replies.pop(number)
        if kind == "skipped":  # a newer search was asked for, so this one was not made
            raise RuntimeError("the grammar's search was skipped for a newer one")
        if kind == "error":
            raise value
        return value

    def begin(self, pcm: bytes, exhaustive: bool = False) -> None:
        """Start searching the utterance now; scores() of the same pcm then waits for that search."""
        self._begun = (pcm, exhaustive, self._request("scores", pcm, exhaustive))

    def scores(self, pcm: bytes, exhaustive: bool = False) -> dict:
        begun, self._begun = self._begun, None
        if begun is not None and begun[0] is pcm and begun[1] == exhaustive:
            return self._result(begun[2])
        return self._result(self._request("scores", pcm, exhaustive))

    def alignment_gap(self, pcm: bytes, sentence: str, phone_score: int | None) -> tuple[float | None, int]:
        return self._result(self._request("alignment_gap", pcm, sentence, phone_score))

    def lookup_word(self, word: str) -> str | None:
        return self._result(self._request("lookup_word", word))

    def close(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            end_child(child)


ANSWERED = frozenset({"scores", "alignment_gap", "lookup_word"})


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The child's loop: build the searches, then answer each request in order until the parent closes the pipe. A
    search that a newer one follows is skipped: its utterance was understood without it, and the newer one is
    waited for; one that a newer one follows as it runs stops before its phone loop. Requests are read as they come,
    between searches, so that the parent never waits to send one."""
    waiting: queue.Queue = queue.Queue()

    def read() -> None:
        while True:
            try:
                waiting.put(pickle.load(requests))
            except (EOFError, OSError, pickle.UnpicklingError):
                waiting.put(None)
                return

    def superseded() -> bool:
        return any(later is not None and later[1][0] == "scores" for later in list(waiting.queue))

    threading.Thread(target=read, daemon=True, name="grammar-requests").start()
    search: GrammarSearch | None = None
    while (item := waiting.get()) is not None:
        number, request = item
        try:
            if request[0] == "build":
                search = GrammarSearch(*request[1:])
                search.superseded = superseded
                reply: tuple = ("ok", search.question_texts)
            elif request[0] == "scores" and superseded():
                reply = ("skipped", None)
            elif request[0] in ANSWERED and search is not None:
                reply = ("ok", getattr(search, request[0])(*request[1:]))
            else:
                reply = ("error", RuntimeError(f"not a request: {request[0]!r}"))
        except Exception as error:  # the parent raises it: one utterance's failure, or a build's
            reply = ("error", error)
        try:
            pickle.dump((number, reply), replies)
            replies.flush()
        except OSError:  # the parent has gone
            return


if __name__ == "__main__":
    channels = child_channels()
    os.nice(NICER)
    serve(*channels)
