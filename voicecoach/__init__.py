"""voicecoach: a spoken stretching coach that listens for commands, offline."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("voicecoach")  # from pyproject.toml, through the installed package's metadata
except PackageNotFoundError:  # a source tree that was never installed (scripts/setup installs it)
    __version__ = "unknown"
