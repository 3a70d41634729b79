"""A temporary home for a benchmark and every voicecoach it starts, so the user's own settings and caches move no figure."""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.harness import home_environment, share_cache  # noqa: E402

# Where benchmarks keep the voicecoach cache (Moonshine's conversion, speech clips) between runs: a warm cache, as a
# user has from the second session on, but one that no user setting or leftover reaches.
SHARED_CACHE = Path(__file__).resolve().parent / "out" / "cache"


@contextlib.contextmanager
def isolated_env(shared_cache: Path | None = SHARED_CACHE, prefix: str = "voicecoach-bench-") -> Iterator[Path]:
    """Within the block, HOME and every XDG user folder (not XDG_RUNTIME_DIR: the private PulseAudio's) are a fresh
    temporary folder, for this process and the subprocesses it starts; $XDG_CACHE_HOME/voicecoach is `shared_cache`
    unless that is None (then it starts empty, as on a first start ever). Yields the temporary HOME."""
    changed = home_environment(Path("/"))
    saved = {name: os.environ.get(name) for name in changed}
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        home = Path(folder)
        if shared_cache is not None:
            share_cache(home, shared_cache)
        os.environ.update(home_environment(home))
        try:
            yield home
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
