"""Several listeners as one: spoken and typed commands reach the session side by side."""
from __future__ import annotations

from typing import Callable

from voicecoach.ports import Heard, Listener, ListeningContext


class CombinedListener:
    def __init__(self, *listeners: Listener):
        self.listeners = listeners

    def start(self, post: Callable[[Heard], None]) -> None:
        for listener in self.listeners:
            listener.start(post)

    def coach_speaking(self, text: str | None, kind: str = "instruction") -> None:
        for listener in self.listeners:
            listener.coach_speaking(text, kind)

    def expect(self, context: ListeningContext) -> None:
        for listener in self.listeners:
            listener.expect(context)

    def stop(self) -> None:
        for listener in self.listeners:
            listener.stop()
