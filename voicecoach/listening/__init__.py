"""Offline listening: grammar, recognizer, endpointing, the microphone Listener and optional recognizers."""


class RecognizerUnavailable(RuntimeError):
    """The package or model a recognizer needs is missing; the message says what to do."""
