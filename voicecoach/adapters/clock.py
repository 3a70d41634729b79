"""The real clock and the inbox that waits on it for events or deadlines."""
from __future__ import annotations

import queue
import time


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
        """The next item, or None once the clock reaches `until` (clock seconds) with nothing arrived."""
        if until is None:
            return self._queue.get()
        timeout = until - self._clock.now()
        if timeout <= 0:
            try:
                return self._queue.get_nowait()
            except queue.Empty:
                return None
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
