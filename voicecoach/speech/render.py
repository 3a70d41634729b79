"""pyttsx3 text-to-clip rendering on one worker thread, cached by (text, voice, rate) in memory and on disk."""
from __future__ import annotations

import hashlib
import heapq
import itertools
import os
import tempfile
import threading
import wave
from array import array
from pathlib import Path
from typing import Callable, Iterable

from voicecoach import paths, privacy
from voicecoach.speech.clips import Clip, read_wav, trim, write_wav

Key = tuple  # (text, voice or None, rate)
CACHE_VERSION = "1"   # bump when trimming or the clip format changes
URGENT, AHEAD = 0, 1  # on-demand renders jump ahead of prepare()


def cache_dir() -> Path:
    return paths.cache_dir() / "speech"


class Pyttsx3Synth:
    """Renders one text to a Clip with pyttsx3's save_to_file (its say() path is unusable on Linux, see docs)."""

    def __init__(self):
        import pyttsx3
        self._engine = pyttsx3.init()
        # The espeak driver print()s "Audio saved to …" on stdout, which is the user's screen-reader text.
        # Shadowing print in the driver module silences it without redirecting sys.stdout for other threads.
        self._engine.proxy._module.print = lambda *args, **kwargs: None
        self.driver = self._engine.proxy._module.__name__.rsplit(".", 1)[-1]
        self._voice = self._rate = None
        self._temporary = tempfile.TemporaryDirectory(prefix="voicecoach-tts-")  # removed at exit
        self._folder = self._temporary.name

    def __call__(self, text: str, voice: str | None, rate: int) -> Clip:
        if voice is not None and voice != self._voice:
            self._engine.setProperty("voice", voice)
            self._voice = voice
        if rate != self._rate:
            self._engine.setProperty("rate", rate)
            self._rate = rate
        # Once in a few hundred renders under load the espeak driver wrote an empty file for a normal
        # sentence (not reproduced since); a second attempt costs ~10 ms and avoids a silent line.
        for _attempt in range(3):
            clip = self._render_once(text)
            if clip.samples or not any(ch.isalnum() for ch in text):
                break
        return clip

    def _render_once(self, text: str) -> Clip:
        path = Path(self._folder) / "utterance.wav"
        path.unlink(missing_ok=True)
        self._engine.save_to_file(text, str(path))
        self._engine.runAndWait()
        try:
            clip = read_wav(path)
        except (OSError, EOFError, wave.Error):
            return Clip(array("h"))
        path.unlink(missing_ok=True)
        return Clip(trim(clip.samples))


class Renderer:
    """Background renderer. get() never blocks; request() queues; wait() blocks for one clip."""

    def __init__(self, synth_factory: Callable[[], Callable] = Pyttsx3Synth, folder: Path | None = None,
                 driver_tag: str = "pyttsx3"):
        self._synth_factory = synth_factory
        self._folder = folder or cache_dir()
        self._driver_tag = driver_tag
        self._clips: dict[Key, Clip] = {}
        self._queued: dict[Key, int] = {}
        self._heap: list = []
        self._order = itertools.count()
        self._condition = threading.Condition()
        self._closed = False
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._work, name="voicecoach-render", daemon=True)
        self._thread.start()

    def get(self, key: Key) -> Clip | None:
        return self._clips.get(key)

    def request(self, keys: Iterable[Key], priority: int = URGENT) -> None:
        with self._condition:
            for key in keys:
                if key in self._clips or self._queued.get(key, AHEAD + 1) <= priority:
                    continue
                self._queued[key] = priority
                heapq.heappush(self._heap, (priority, next(self._order), key))
            self._condition.notify_all()

    def wait(self, key: Key, timeout: float) -> Clip | None:
        self.request([key])
        with self._condition:
            self._condition.wait_for(lambda: key in self._clips or self._closed or self.error, timeout)
        return self._clips.get(key)

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def _work(self) -> None:
        synth = None
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._heap or self._closed)
                if self._closed:
                    return
                priority, _, key = heapq.heappop(self._heap)
                if self._queued.get(key) != priority or key in self._clips:
                    continue  # superseded by a more urgent entry, or already done
                del self._queued[key]
            try:
                clip = self._load(key)
                if clip is None:
                    synth = synth or self._synth_factory()
                    clip = synth(*key)
                    self._store(key, clip)
            except Exception as error:  # a broken voice or engine: speak nothing rather than stall the session
                self.error = error
                clip = Clip(array("h"))
            with self._condition:
                self._clips[key] = clip
                self._condition.notify_all()

    def _path(self, key: Key) -> Path:
        digest = hashlib.sha256(repr((CACHE_VERSION, self._driver_tag, *key)).encode()).hexdigest()[:32]
        return self._folder / f"{digest}.wav"

    def _load(self, key: Key) -> Clip | None:
        path = self._path(key)
        try:
            return read_wav(path)
        except (OSError, EOFError, ValueError, wave.Error):
            return None

    def _store(self, key: Key, clip: Clip) -> None:
        try:
            privacy.private_dir(self._folder)
            temporary = self._path(key).with_suffix(f".{os.getpid()}.tmp")
            write_wav(temporary, clip)
            os.replace(temporary, self._path(key))
        except OSError:
            pass  # a read-only cache only costs speed
