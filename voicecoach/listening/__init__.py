"""Offline listening: grammar, recogniser, endpointing, the microphone Listener and optional recognisers."""
