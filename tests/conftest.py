"""Shared fixtures: `pulse` makes a real-sound test fail unless the private PulseAudio is running."""
import pytest

from tests.harness import require_pulse


@pytest.fixture(scope="session")
def pulse() -> None:
    require_pulse()
