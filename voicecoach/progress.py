"""This week's stretching from the session history: sessions, minutes and days in a row, as pure data."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable

from voicecoach.ports import SessionRecord


@dataclass(frozen=True)
class WeekSummary:
    """The record before the session now starting, which the session adds itself to when it speaks of it."""
    sessions: int        # this calendar week (from Monday), sessions that got past the opening
    seconds: float       # their time
    days_in_a_row: int   # days with such a session, counting back from yesterday (today is the session's own)


def _counts(record: SessionRecord) -> bool:
    return record.completed or record.steps_done > 0  # an opening left at once is not a session done


def week_summary(records: Iterable[SessionRecord], today: date) -> WeekSummary:
    """Sum up the records (any order) as of `today`, the local date the new session runs on."""
    done = [(datetime.fromisoformat(record.started).date(), record) for record in records if _counts(record)]
    monday = today - timedelta(days=today.weekday())
    week = [record for day, record in done if monday <= day <= today]
    days = {day for day, _ in done}
    streak, day = 0, today - timedelta(days=1)
    while day in days:
        streak, day = streak + 1, day - timedelta(days=1)
    return WeekSummary(len(week), sum(record.seconds for record in week), streak)
