"""Tests for llmscale.serving.schedules: the night schedule's cron window and its EventBridge Scheduler expressions."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from llmscale.config.models import DAYS, ScheduleConfig
from llmscale.serving.schedules import cron_window, eventbridge_expressions

TIMEZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"]
AWS_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
# EventBridge cron: minutes hours day-of-month month day-of-week year; `?` in day-of-month when days are given.
CRON = re.compile(r"^cron\((?P<minute>\S+) (?P<hour>\S+) \? \* (?P<days>\S+) \*\)$")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY

clock = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))
day_lists = st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True)


@st.composite
def schedules(draw: st.DrawFn) -> tuple[ScheduleConfig, list[str]]:
    """A valid schedule and the days as written (any order)."""
    start = draw(clock)
    end = draw(clock.filter(lambda value: value != start))
    days = draw(day_lists)
    config = ScheduleConfig(timezone=draw(st.sampled_from(TIMEZONES)), days=days, start=start, end=end)
    return config, days


def hm(value: str) -> tuple[int, int]:
    hours, minutes = value.split(":")
    return int(hours), int(minutes)


def in_week_order(days: list[str]) -> tuple[str, ...]:
    return tuple(sorted(days, key=DAYS.index))


def next_day(day: str) -> str:
    return DAYS[(DAYS.index(day) + 1) % 7]


def parse_cron(expression: str) -> tuple[int, int, list[str]]:
    """(minute, hour, days) of a well-formed EventBridge cron expression; fails the test otherwise."""
    match = CRON.match(expression)
    assert match, expression
    inner = expression[len("cron(") : -1]
    assert len(inner.split(" ")) == 6, expression
    assert match["minute"].isdigit() and match["hour"].isdigit(), expression
    minute, hour = int(match["minute"]), int(match["hour"])
    assert 0 <= minute <= 59 and 0 <= hour <= 23, expression
    days = match["days"].split(",")
    assert all(day in AWS_DAYS for day in days), expression
    assert len(set(days)) == len(days), expression
    return minute, hour, days


def events(minute: int, hour: int, days: list[str]) -> list[int]:
    """Minutes of the week (Monday 00:00 = 0) at which a cron expression fires."""
    return sorted(AWS_DAYS.index(day) * MINUTES_PER_DAY + hour * 60 + minute for day in days)


# --- properties ------------------------------------------------------------------------------------------


@given(schedules())
def test_start_days_are_the_configured_days(case: tuple[ScheduleConfig, list[str]]) -> None:
    config, days = case
    window = cron_window(config)
    assert window.start_days == in_week_order(days)
    assert window.timezone == config.timezone
    assert (window.start_hour, window.start_minute) == hm(config.start)
    assert (window.end_hour, window.end_minute) == hm(config.end)


@given(schedules())
def test_end_days_follow_midnight(case: tuple[ScheduleConfig, list[str]]) -> None:
    config, days = case
    window = cron_window(config)
    if hm(config.end) > hm(config.start):
        assert window.end_days == in_week_order(days)
    else:
        assert window.end_days == in_week_order([next_day(day) for day in days])
    assert len(window.end_days) == len(days)


@given(schedules())
def test_expressions_are_well_formed_and_match_the_config(case: tuple[ScheduleConfig, list[str]]) -> None:
    config, _ = case
    start, stop = eventbridge_expressions(config)
    window = cron_window(config)
    start_minute, start_hour, start_days = parse_cron(start)
    stop_minute, stop_hour, stop_days = parse_cron(stop)
    assert (start_hour, start_minute) == hm(config.start)
    assert (stop_hour, stop_minute) == hm(config.end)
    assert start_days == [day.upper() for day in window.start_days]
    assert stop_days == [day.upper() for day in window.end_days]


@given(schedules())
def test_every_start_is_followed_by_its_own_stop(case: tuple[ScheduleConfig, list[str]]) -> None:
    """Walking the week: the first stop after each start comes exactly one window length later."""
    config, days = case
    start, stop = eventbridge_expressions(config)
    starts = events(*parse_cron(start))
    stops = events(*parse_cron(stop))
    assert len(starts) == len(stops) == len(days)
    start_h, start_m = hm(config.start)
    end_h, end_m = hm(config.end)
    length = ((end_h * 60 + end_m) - (start_h * 60 + start_m)) % MINUTES_PER_DAY
    assert 0 < length < MINUTES_PER_DAY
    for when in starts:
        first_stop = min((s - when) % MINUTES_PER_WEEK for s in stops)
        assert first_stop == length


# --- examples --------------------------------------------------------------------------------------------


def test_example_stack_schedule() -> None:
    config = ScheduleConfig(
        timezone="Europe/Berlin", days=["mon", "tue", "wed", "thu", "fri"], start="07:00", end="20:00"
    )
    assert eventbridge_expressions(config) == (
        "cron(0 7 ? * MON,TUE,WED,THU,FRI *)",
        "cron(0 20 ? * MON,TUE,WED,THU,FRI *)",
    )


def test_friday_night_window_stops_on_saturday() -> None:
    config = ScheduleConfig(timezone="America/New_York", days=["fri"], start="20:00", end="06:00")
    window = cron_window(config)
    assert window.start_days == ("fri",)
    assert window.end_days == ("sat",)
    assert eventbridge_expressions(config) == ("cron(0 20 ? * FRI *)", "cron(0 6 ? * SAT *)")


def test_sunday_night_window_stops_on_monday() -> None:
    config = ScheduleConfig(timezone="Pacific/Auckland", days=["sun"], start="22:30", end="02:15")
    assert eventbridge_expressions(config) == ("cron(30 22 ? * SUN *)", "cron(15 2 ? * MON *)")


def test_night_shift_over_the_weekend_wraps_in_week_order() -> None:
    config = ScheduleConfig(timezone="Asia/Kolkata", days=["sat", "sun", "fri"], start="18:00", end="02:00")
    window = cron_window(config)
    assert window.start_days == ("fri", "sat", "sun")
    assert window.end_days == ("mon", "sat", "sun")
    assert eventbridge_expressions(config)[1] == "cron(0 2 ? * MON,SAT,SUN *)"


def test_every_day_window_across_midnight_stops_every_day() -> None:
    config = ScheduleConfig(timezone="UTC", days=list(DAYS), start="23:59", end="00:00")
    window = cron_window(config)
    assert window.end_days == DAYS
    assert eventbridge_expressions(config) == (
        "cron(59 23 ? * MON,TUE,WED,THU,FRI,SAT,SUN *)",
        "cron(0 0 ? * MON,TUE,WED,THU,FRI,SAT,SUN *)",
    )


def test_window_ending_one_minute_after_start_stays_on_the_same_day() -> None:
    config = ScheduleConfig(timezone="UTC", days=["wed"], start="09:59", end="10:00")
    assert eventbridge_expressions(config) == ("cron(59 9 ? * WED *)", "cron(0 10 ? * WED *)")


def test_empty_window_is_rejected() -> None:
    with pytest.raises(ValidationError):
        ScheduleConfig(timezone="UTC", days=["mon"], start="08:00", end="08:00")
