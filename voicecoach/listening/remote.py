"""The recognizer in a process of its own, so that its long calls cannot hold up the audio threads."""
from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any, Callable

from voicecoach.listening import RecognizerUnavailable
from voicecoach.ports import Heard, ListeningContext

# pocketsphinx's decoding keeps Python's interpreter lock for each search, 50-150 ms at a time, several per
# utterance. In the session's process that starved the output stream's callback: the stream underran, the played
# audio restarted where the echo canceller did not expect it, and for the next second its echo passed as the
# user's. In a child process the searches hold the child's lock only. A session of its own keeps the terminal's
# Ctrl-C away from the child: the parent ends it, by closing its input.

# Below the session's priority: when both want the two cores, the audio threads (playing, capturing, cancelling
# the echo) come first, and decoding waits a moment instead of the output stream underrunning.
NICENESS = 5
RESTARTS = 3  # times a child that died (killed, out of memory) is started again before listening gives up


class RecognizerProcess:
    """recognize(pcm, audio_end) -> Heard, answered by the recognizer that `build` makes in a child process.
    One caller at a time for recognize and release_memory; expect from any thread (sent with the next utterance)."""

    def __init__(self, build: Callable[[], Any]):
        self._build = build
        self._context: ListeningContext | None = None
        self._context_sent: ListeningContext | None = None
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # abandon() writes from another thread than the caller's
        self._numbers = itertools.count()
        self._recognizing: int | None = None  # the number of the recognize request awaiting its answer
        self._child: subprocess.Popen | None = None
        self._restarts = 0
        self._closed = False
        self._start()

    def _start(self) -> None:
        self._child = start_child("voicecoach.listening.remote", "recognizer")
        self._context_sent = None
        try:
            self._ask(("build", self._build))
        except BaseException:
            self.close()
            raise

    def _send(self, child: subprocess.Popen, number: int, request: tuple) -> None:
        assert child.stdin is not None
        with self._writing:
            pickle.dump((number, request), child.stdin)
            child.stdin.flush()

    def _ask(self, request: tuple) -> Any:
        child = self._child
        assert child is not None and child.stdout is not None
        number = next(self._numbers)
        try:
            self._send(child, number, request)
            if request[0] == "recognize":
                self._recognizing = number
            kind, value = pickle.load(child.stdout)
        except (OSError, EOFError, pickle.UnpicklingError):
            child.kill()
            child.wait()
            raise RecognizerUnavailable(f"The recognizer's process stopped (exit status {child.returncode}).") from None
        finally:
            self._recognizing = None
        if kind == "error":
            raise value
        return value

    def abandon(self) -> None:
        """The utterance being recognised now is no longer wanted (its speaker went on): the child stops it at the
        end of its current stage and answers that nothing was understood. From any thread; nothing if none is."""
        child, number = self._child, self._recognizing
        if child is not None and number is not None:
            with contextlib.suppress(OSError):
                self._send(child, next(self._numbers), ("abandon", number))

    def recognize(self, pcm: bytes, audio_end: float | None = None) -> Heard:
        with self._lock:
            if self._closed:
                raise RecognizerUnavailable("The recognizer's process has been closed.")
            if self._child is None or self._child.poll() is not None:
                if self._restarts >= RESTARTS:
                    raise RecognizerUnavailable("The recognizer's process keeps stopping.")
                self._restarts += 1
                self._start()
            context = self._context
            update = context if context is not self._context_sent else None
            heard = self._ask(("recognize", pcm, audio_end, update))
            self._context_sent = context
            return heard

    def expect(self, context: ListeningContext) -> None:
        self._context = context  # a plain assignment: the decoding thread picks it up with the next utterance

    def release_memory(self) -> None:
        with self._lock:
            if self._child is not None and self._child.poll() is None:
                self._ask(("release_memory",))

    def close(self) -> None:
        child, self._child, self._closed = self._child, None, True
        if child is not None:
            end_child(child)


def start_child(module: str, what: str) -> subprocess.Popen:
    """`python -m module` with pipes for requests and replies, in a session of its own (see above)."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH"))))}
    # OpenBLAS's extra threads spin for a while after each of the meaning model's small products: on two cores they
    # took the core that the grammar's search beside Moonshine needs, and transcripts took up to 60 ms longer.
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        return subprocess.Popen([sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                start_new_session=True)
    except OSError as error:
        raise RecognizerUnavailable(f"The {what}'s process could not be started ({error}).") from None


def end_child(child: subprocess.Popen) -> None:
    try:
        if child.stdin is not None:
            child.stdin.close()  # the child ends at the end of its input
        child.wait(timeout=2)
    except (OSError, subprocess.TimeoutExpired):
        child.kill()
        child.wait()


def child_channels() -> tuple[IO[bytes], IO[bytes]]:
    """In a child: its requests and a private channel for its replies. Whatever a library prints goes to stderr,
    not into the replies; a stray Ctrl-C must not print a traceback (the parent ends it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return sys.stdin.buffer, replies


def release_free_heap() -> None:
    """Give the C heap's free pages back to the system (glibc only). Recognising an utterance leaves about 40 MB
    of freed working memory in the heap; returning it takes about 7 ms, done after the result is posted."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The child's loop: build the recognizer, then answer each request until the parent closes the pipe. Requests
    are read as they come, so that an "abandon" reaches the recognizer while it works (no answer is sent to it)."""
    waiting: queue.Queue = queue.Queue()
    abandoned = [-1]  # requests up to this number are no longer wanted

    def read() -> None:
        while True:
            try:
                number, request = pickle.load(requests)
            except (EOFError, OSError, pickle.UnpicklingError, ValueError):
                waiting.put(None)
                return
            if request[0] == "abandon":
                abandoned[0] = max(abandoned[0], request[1])
            else:
                waiting.put((number, request))

    threading.Thread(target=read, daemon=True, name="recognizer-requests").start()
    recognizer: Any = None
    while (item := waiting.get()) is not None:
        number, request = item
        try:
            if request[0] == "build":
                recognizer = request[1]()
                reply: tuple = ("ok", None)
            elif request[0] == "recognize":
                _, pcm, audio_end, context = request
                if context is not None:
                    getattr(recognizer, "expect", lambda context: None)(context)
                if hasattr(recognizer, "abandoned"):
                    recognizer.abandoned = lambda number=number: abandoned[0] >= number
                reply = ("ok", recognizer.recognize(pcm, audio_end))
            else:
                getattr(recognizer, "release_memory", lambda: None)()
                release_free_heap()
                reply = ("ok", None)
        except Exception as error:  # the parent raises it: one utterance's failure, or a build's
            reply = ("error", error)
        try:
            data = pickle.dumps(reply)
        except (pickle.PicklingError, TypeError, AttributeError):
            data = pickle.dumps(("error", RuntimeError(repr(reply[1]))))
        replies.write(data)
        replies.flush()


def main() -> None:
    requests, replies = child_channels()
    os.nice(NICENESS)  # the grammar's process, started from here, goes lower still (sphinx.NICER)
    serve(requests, replies)


if __name__ == "__main__":
    main()
