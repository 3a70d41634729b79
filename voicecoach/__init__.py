"""voicecoach: a spoken stretching coach that listens for commands, offline."""
__version__ = "0.1.0"
