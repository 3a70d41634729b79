"""Shared fixtures: `pulse` makes a real-sound test fail unless the private PulseAudio is running."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import require_pulse  # noqa: E402


@pytest.fixture
def pulse() -> None:
    require_pulse()
