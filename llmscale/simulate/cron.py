"""Cron expressions as KEDA's cron scaler and EventBridge Scheduler read them, laid over the simulated calendar.

KEDA v2.20 parses `start` and `end` with robfig/cron v3's standard five-field parser (minute, hour, day of
month, month, day of week; kedacore/keda v2.20.2 `pkg/scalers/cron_scaler.go`, `cron.NewParser(cron.Minute |
cron.Hour | cron.Dom | cron.Month | cron.Dow)`). Days of week are 0-6 from Sunday (names SUN-SAT); when both
day fields are restricted a day matches either (robfig/cron v3 `spec.go` `dayMatches`), otherwise both.

EventBridge Scheduler takes six fields, `cron(minutes hours day-of-month month day-of-week year)`, with days of
week 1-7 from Sunday (SUN-SAT), `?` in one of the day fields, evaluated in `scheduleExpressionTimezone`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

MONTH_NAMES = {
    n: i + 1 for i, n in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
}
DOW_NAMES = {name: index for index, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
SEARCH_DAYS = 400  # a schedule that fires less often than once a year counts as never firing


class CronError(ValueError):
    """A cron expression the simulator cannot read; the message names the field."""


@dataclass(frozen=True)
class CronSpec:
    """A parsed cron expression: the allowed values of each field, and whether a day field was `*`."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_star: bool
    weekdays_star: bool

    def matches(self, moment: datetime) -> bool:
        """True when the expression fires at this wall-clock minute."""
        if moment.minute not in self.minutes or moment.hour not in self.hours or moment.month not in self.months:
            return False
        day = moment.day in self.days
        weekday = (moment.isoweekday() % 7) in self.weekdays
        if self.days_star or self.weekdays_star:
            return day and weekday
        return day or weekday


def _field(text: str, low: int, high: int, names: dict[str, int], what: str, shift: int = 0) -> tuple[set[int], bool]:
    values: set[int] = set()
    star = False
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise CronError(f"{what}: step {step_text!r} is not a positive number")
            step = int(step_text)
        if part in ("*", "?"):
            first, last = low, high
            star = star or step == 1
        elif "-" in part:
            first_text, last_text = part.split("-", 1)
            first, last = _value(first_text, names, what, shift), _value(last_text, names, what, shift)
        else:
            first = last = _value(part, names, what, shift)
            if step > 1:
                last = high
        if not low <= first <= last <= high:
            raise CronError(f"{what}: {part!r} is outside {low}-{high}")
        values.update(range(first, last + 1, step))
    return values, star


def _value(text: str, names: dict[str, int], what: str, shift: int) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    if not text.isdigit():
        raise CronError(f"{what}: {text!r} is not a number or a name")
    return int(text) - shift


def parse_keda(expression: str) -> CronSpec:
    """A five-field expression as KEDA's cron scaler (robfig/cron v3 standard parser) reads it."""
    fields = expression.split()
    if len(fields) != 5:
        raise CronError(f"{expression!r}: expected 5 fields (minute hour day-of-month month day-of-week)")
    minutes, _ = _field(fields[0], 0, 59, {}, "minute")
    hours, _ = _field(fields[1], 0, 23, {}, "hour")
    days, days_star = _field(fields[2], 1, 31, {}, "day of month")
    months, _ = _field(fields[3], 1, 12, MONTH_NAMES, "month")
    weekdays, weekdays_star = _field(fields[4], 0, 6, DOW_NAMES, "day of week")
    return CronSpec(
        frozenset(minutes), frozenset(hours), frozenset(days), frozenset(months), frozenset(weekdays), days_star,
        weekdays_star,
    )  # fmt: skip


def parse_eventbridge(expression: str) -> CronSpec:
    """`cron(m h dom mon dow year)` as EventBridge Scheduler reads it (days of week 1-7 from Sunday)."""
    text = expression.strip()
    if not (text.startswith("cron(") and text.endswith(")")):
        raise CronError(f"{expression!r}: only cron(...) schedule expressions are simulated")
    fields = text[5:-1].split()
    if len(fields) != 6:
        raise CronError(f"{expression!r}: expected 6 fields (minutes hours day-of-month month day-of-week year)")
    if any(re.search(r"#|\bL\b|\d[LW]\b|\bLW\b", field) for field in fields):
        raise CronError(f"{expression!r}: L, W and # are not simulated")
    if fields[5] not in ("*", "?"):
        raise CronError(f"{expression!r}: a year other than * is not simulated")
    minutes, _ = _field(fields[0], 0, 59, {}, "minutes")
    hours, _ = _field(fields[1], 0, 23, {}, "hours")
    days, days_star = _field(fields[2], 1, 31, {}, "day-of-month")
    months, _ = _field(fields[3], 1, 12, MONTH_NAMES, "month")
    weekdays, weekdays_star = _field(fields[4], 0, 6, DOW_NAMES, "day-of-week", shift=1)
    # EventBridge needs `?` in one day field: the other one alone decides.
    return CronSpec(
        frozenset(minutes), frozenset(hours), frozenset(days), frozenset(months), frozenset(weekdays),
        days_star or fields[2] == "?", weekdays_star or fields[4] == "?",
    )  # fmt: skip


@lru_cache(maxsize=16)
def _local_minutes(timezone: str, start: datetime, minutes: int) -> tuple[datetime, ...]:
    """The wall-clock time in `timezone` of every simulated minute (shared by every expression of a zone)."""
    zone = ZoneInfo(timezone)
    return tuple((start + timedelta(minutes=minute)).astimezone(zone) for minute in range(minutes))


def fire_minutes(spec: CronSpec, timezone: str, start: datetime, minutes: int) -> list[int]:
    """Minutes after `start` (a UTC instant) at which the expression fires within the next `minutes` minutes."""
    wanted = spec.minutes
    return [
        minute
        for minute, moment in enumerate(_local_minutes(timezone, start, minutes))
        if moment.minute in wanted and spec.matches(moment)
    ]


def next_fire(spec: CronSpec, timezone: str, start: datetime, after_minute: int) -> int | None:
    """The first firing minute strictly after `after_minute`, searching up to a year ahead (None: never)."""
    zone = ZoneInfo(timezone)
    origin = start + timedelta(minutes=after_minute + 1)
    for offset in range(SEARCH_DAYS * 24 * 60):
        moment = (origin + timedelta(minutes=offset)).astimezone(zone)
        if moment.minute in spec.minutes and spec.matches(moment):
            return after_minute + 1 + offset
    return None


@dataclass(frozen=True)
class CronWindow:
    """A KEDA cron trigger's window over the simulated minutes: inside or not, minute by minute."""

    active: tuple[bool, ...]

    def is_active(self, minute: int) -> bool:
        """Whether the trigger reports activity (and `desiredReplicas`) during this simulated minute."""
        return self.active[minute] if 0 <= minute < len(self.active) else False


def keda_window(start_expr: str, end_expr: str, timezone: str, start: datetime, minutes: int) -> CronWindow:
    """KEDA v2.20's cron window for every simulated minute.

    `GetMetricsAndActivity` (kedacore/keda v2.20.2 `pkg/scalers/cron_scaler.go`) takes the next start and the
    next end strictly after now (`schedule.Next`): when the next start comes before the next end it is outside
    the window, otherwise inside (with a window crossing midnight handled by the same comparison). So a window
    is [start, end) to the minute, and a start with no end before it keeps the trigger active.
    """
    if start.tzinfo is None or start.utcoffset() != timedelta(0):
        start = start.astimezone(UTC)
    spec_start, spec_end = parse_keda(start_expr), parse_keda(end_expr)
    starts = fire_minutes(spec_start, timezone, start, minutes)
    ends = fire_minutes(spec_end, timezone, start, minutes)
    after_start = next_fire(spec_start, timezone, start, minutes - 1)
    after_end = next_fire(spec_end, timezone, start, minutes - 1)
    return CronWindow(tuple(_inside(starts, ends, after_start, after_end, minutes)))


def _inside(
    starts: Sequence[int], ends: Sequence[int], after_start: int | None, after_end: int | None, minutes: int
) -> list[bool]:
    never = float("inf")
    all_starts = [*starts, after_start if after_start is not None else never]
    all_ends = [*ends, after_end if after_end is not None else never]
    active = []
    for minute in range(minutes):
        next_start = all_starts[bisect.bisect_right(all_starts, minute)]
        next_end = all_ends[bisect.bisect_right(all_ends, minute)]
        active.append(not next_start < next_end)
    return active
