"""Adapters: the real (and silent) implementations of the ports."""
