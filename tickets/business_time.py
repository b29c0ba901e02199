"""Business-time arithmetic: the one module that knows when IT works.

A :class:`WorkingCalendar` says, per weekday, from when to when people work (a span may run past
midnight: 22:00–06:00 is a night shift that started on that weekday), in which IANA time zone, and
which days nobody works (public holidays through the ``holidays`` package, plus the company's own
closure days). A span belongs to the day it starts on: a holiday cancels the night shift that would
start on it, not the one that started the evening before.

All arithmetic converts local working spans to UTC before measuring them, so a working day across a
DST change is as long as it really is (a night shift from 22:00 to 06:00 lasts 7 hours in the night
the clocks go forward and 9 in the night they go back).

The calendar is validated when it is configured (``BusinessCalendar.clean``): it must have working
time on at least one weekday. Holidays and closure days are finite per year, so from every instant
there is always more working time ahead and behind; ``MAX_SCAN_DAYS`` only guards against a bug.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_SCAN_DAYS = 3660  # ten years of calendar days; a valid calendar never gets near it
ZERO = timedelta(0)


class NoWorkingTimeError(ValueError):
    """The calendar has no working time at all: it cannot measure business time."""


@dataclass(frozen=True)
class WorkingCalendar:
    """When people work. ``hours``: weekday (0 = Monday) → (start, end) local times; ``end <= start``
    means the span ends on the next day (``time(0)`` as end: at midnight). ``is_day_off``: True for
    holidays and closure days (the spans starting on them are skipped)."""

    time_zone: ZoneInfo
    hours: dict[int, tuple[time, time]]
    is_day_off: Callable[[date], bool] = field(default=lambda day: False, compare=False)

    def __post_init__(self):
        if not self.hours:
            raise NoWorkingTimeError("The calendar has no working hours on any weekday.")

    def _span(self, day: date) -> tuple[datetime, datetime] | None:
        """The working span that starts on ``day``, in UTC, or None (no work that day)."""
        hours = self.hours.get(day.weekday())
        if hours is None or self.is_day_off(day):
            return None
        start, end = hours
        end_day = day + timedelta(days=1) if end <= start else day
        local_start = datetime.combine(day, start, tzinfo=self.time_zone)
        local_end = datetime.combine(end_day, end, tzinfo=self.time_zone)
        return local_start.astimezone(UTC), local_end.astimezone(UTC)

    def spans_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working spans (UTC) that end after ``moment``, in time order, clipped to start at it."""
        day = moment.astimezone(self.time_zone).date() - timedelta(days=1)  # a night shift may still run
        covered = moment  # overlapping spans (a night shift into an early start) count once
        for offset in range(MAX_SCAN_DAYS):
            span = self._span(day + timedelta(days=offset))
            if span is None or span[1] <= covered:
                continue
            yield max(span[0], covered), span[1]
            covered = span[1]
        raise NoWorkingTimeError("No working time found within ten years.")

    def spans_before(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working spans (UTC) that start before ``moment``, latest first, clipped to end at it."""
        day = moment.astimezone(self.time_zone).date()
        covered = moment
        for offset in range(MAX_SCAN_DAYS):
            span = self._span(day - timedelta(days=offset))
            if span is None or span[0] >= covered:
                continue
            yield span[0], min(span[1], covered)
            covered = span[0]
        raise NoWorkingTimeError("No working time found within ten years.")


def add_business_time(calendar: WorkingCalendar, start: datetime, amount: timedelta) -> datetime:
    """The instant ``amount`` of working time after ``start`` (before it, for a negative amount).

    Adding zero returns ``start`` itself, also outside working hours. A positive amount that ends
    exactly at the end of a working span returns that end (e.g. 17:00), not the next morning.
    """
    start = _aware(start)
    if amount == ZERO:
        return start
    if amount > ZERO:
        left = amount
        for span_start, span_end in calendar.spans_from(start):
            if span_end - span_start >= left:
                return span_start + left
            left -= span_end - span_start
    left = -amount
    for span_start, span_end in calendar.spans_before(start):
        if span_end - span_start >= left:
            return span_end - left
        left -= span_end - span_start
    raise AssertionError("unreachable: the span iterators raise before they end")  # pragma: no cover


def business_time_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> timedelta:
    """The working time from ``start`` to ``end``; negative when ``end`` comes first."""
    start, end = _aware(start), _aware(end)
    if end < start:
        return -business_time_between(calendar, end, start)
    total = ZERO
    for span_start, span_end in calendar.spans_from(start):
        if span_start >= end:
            break
        total += min(span_end, end) - span_start
    return total


def add_business_minutes(calendar: WorkingCalendar, start: datetime, minutes: int) -> datetime:
    return add_business_time(calendar, start, timedelta(minutes=minutes))


def business_minutes_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> int:
    """Whole business minutes from ``start`` to ``end`` (rounded towards zero)."""
    seconds = business_time_between(calendar, start, end).total_seconds()
    return int(seconds / 60)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("Business time needs time-zone aware datetimes.")
    return moment.astimezone(UTC)
