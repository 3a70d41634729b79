"""voicecoach: a spoken stretching coach that listens for commands, offline."""
from voicecoach.privacy import keep_offline

__version__ = "0.1.0"
keep_offline()  # first, before any module of voicecoach loads a library that could go online
