"""The night schedule as cron expressions: when capacity comes up and when it goes down.

Pure functions of `llmscale:schedule`, shared by the single host (EventBridge Scheduler start/stop) and, on
Kubernetes, by the autoscaler's cron window. A window that crosses midnight stops on the following day.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmscale.config.models import DAYS, ScheduleConfig


@dataclass(frozen=True)
class CronWindow:
    """Start and end of the active window as cron fields (minute, hour, days of week), in one time zone."""

    timezone: str
    start_minute: int
    start_hour: int
    start_days: tuple[str, ...]
    end_minute: int
    end_hour: int
    end_days: tuple[str, ...]


def _clock(hhmm: str) -> tuple[int, int]:
    hours, minutes = hhmm.split(":")
    return int(hours), int(minutes)


def _next_days(days: list[str]) -> tuple[str, ...]:
    shifted = {DAYS[(DAYS.index(day) + 1) % 7] for day in days}
    return tuple(sorted(shifted, key=DAYS.index))


def cron_window(schedule: ScheduleConfig) -> CronWindow:
    """The active window of `schedule`; when it crosses midnight, it ends on the day after each active day."""
    start_hour, start_minute = _clock(schedule.start)
    end_hour, end_minute = _clock(schedule.end)
    if schedule._end_days is not None:
        end_days = schedule._end_days
    else:
        end_days = _next_days(schedule.days) if schedule.crosses_midnight else tuple(schedule.days)
    return CronWindow(
        timezone=schedule.timezone,
        start_minute=start_minute,
        start_hour=start_hour,
        start_days=tuple(schedule.days),
        end_minute=end_minute,
        end_hour=end_hour,
        end_days=end_days,
    )


def _aws_days(days: tuple[str, ...]) -> str:
    return ",".join(day.upper() for day in days)


def eventbridge_expressions(schedule: ScheduleConfig) -> tuple[str, str]:
    """EventBridge Scheduler expressions (start, stop), evaluated in the schedule's own time zone."""
    window = cron_window(schedule)
    start = f"cron({window.start_minute} {window.start_hour} ? * {_aws_days(window.start_days)} *)"
    stop = f"cron({window.end_minute} {window.end_hour} ? * {_aws_days(window.end_days)} *)"
    return start, stop


def with_lead_time(schedule: ScheduleConfig, minutes: int) -> ScheduleConfig:
    """The schedule with its window opening `minutes` earlier (on the previous day when that crosses midnight).

    Capacity that takes time to arrive (GPU nodes, then model loading) is asked for ahead of the active hours,
    so that it is serving when they start.
    """
    hours, mins = _clock(schedule.start)
    start = hours * 60 + mins - minutes
    days = list(schedule.days)
    if start < 0:
        start += 24 * 60
        days = [DAYS[(DAYS.index(day) - 1) % 7] for day in days]
    if minutes <= 0:
        return schedule
    shifted = schedule.model_copy(
        update={"start": f"{start // 60:02d}:{start % 60:02d}", "days": sorted(days, key=DAYS.index)}
    )
    # The window still ends where it ended, whatever its new length.
    shifted._end_days = cron_window(schedule).end_days
    return shifted
