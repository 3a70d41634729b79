"""voicecoach: a spoken stretching coach that listens for commands, offline."""
from voicecoach.privacy import keep_offline

keep_offline()  # first, before any module of voicecoach loads a library that could go online

from importlib.metadata import PackageNotFoundError, version  # noqa: E402

try:
    __version__ = version("voicecoach")  # from pyproject.toml, through the installed package's metadata
except PackageNotFoundError:  # a source tree that was never installed (scripts/setup installs it)
    __version__ = "unknown"
