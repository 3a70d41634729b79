"""slower/faster/louder/quieter: the bounded change to the settings and how to say the result."""
from __future__ import annotations

from voicecoach.config import RATE_RANGE, Settings
from voicecoach.speech.earcons import adjust_wording

RATE_STEP = 20
VOLUME_STEP = 0.1
VOLUME_RANGE = (0.1, 1.0)   # never adjust down to silence


def adjust_settings(settings: Settings, change: str) -> str | None:
    """Apply the change to `settings` in place; the new setting in words, or None for an unknown change."""
    wording = adjust_wording()
    if change in ("slower", "faster"):
        low, high = RATE_RANGE
        wanted = settings.rate + (RATE_STEP if change == "faster" else -RATE_STEP)
        settings.rate = min(high, max(low, wanted))
        return wording["rate" if settings.rate == wanted else "rate_limit"].format(rate=settings.rate)
    if change in ("louder", "quieter"):
        low, high = VOLUME_RANGE
        wanted = round(settings.volume + (VOLUME_STEP if change == "louder" else -VOLUME_STEP), 2)
        settings.volume = min(high, max(low, wanted))
        template = wording["volume" if settings.volume == wanted else "volume_limit"]
        return template.format(percent=round(settings.volume * 100))
    return None
