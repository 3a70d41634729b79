"""The real clock and the inbox that waits on it for events or deadlines."""
from __future__ import annotations

import queue
import time

WAKE_SECONDS = 0.25  # how soon a Ctrl-C taken by another thread is acted on


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()


class QueueInbox:
    """Thread-safe inbox: adapters put items; the runner takes them or times out at a deadline."""

    def __init__(self, clock):
        self._clock = clock
        self._queue: queue.Queue = queue.Queue()

    def put(self, item) -> None:
        self._queue.put(item)

    def get(self, until: float | None):
        """The next item, or None once the clock reaches `until` (clock seconds) with nothing arrived.

        It waits in short slices: Ctrl-C's signal may be taken by another thread, and then only sets a flag that
        the main thread reads when it next runs, so one long wait would keep a session deaf to Ctrl-C until it ends."""
        while True:
            timeout = WAKE_SECONDS if until is None else min(until - self._clock.now(), WAKE_SECONDS)
            try:
                return self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
            except queue.Empty:
                if until is not None and self._clock.now() >= until:
                    return None
