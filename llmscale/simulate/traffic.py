"""Traffic to play: the built-in business day derived from the stack's `load` and `schedule`, or a file.

The business day is a share of the declared peak, by local time in the schedule's time zone: on active days a
ramp from an hour before the window opens to full load, a lunch dip in the middle of the window, a decline
towards its end and an evening tail that fades out within a few hours; on the other days a trickle during the
window's hours; nothing at night. A few bursts a day (seeded) add up to double the load for minutes. The peak
request rate is the capacity planner's for the declared users (closed loop: users think `thinkTimeSeconds`
between requests), at the mean request length of the mix. Arrivals within a step are Poisson.

A traffic file gives requests per minute from the simulation's start (Monday 00:00 in the schedule's time
zone): CSV with a `requests` column (optionally `minute` and `profile`), or JSON (a list of numbers,
`{"requestsPerMinute": [...]}` or `{"profiles": {"chat": [...]}}`). Played as given, without Poisson noise; a file
covers whole days (quiet after its last minute) and repeats to fill `--days`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from statistics import NormalDist
from typing import Any
from zoneinfo import ZoneInfo

from llmscale.simulate.stack import Schedule, SimulationError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRE_WINDOW_HOURS = 1.0  # early users in the hour before the window opens
EARLY_SHARE = 0.2  # share of the peak at the window's opening
RAMP_SHARE = 0.15  # the first 15 % of the window ramps to the peak
LUNCH_CENTRE, LUNCH_WIDTH, LUNCH_DEPTH = 0.45, 0.08, 0.3  # dip to 70 % around the window's middle
CLOSING_SHARE = 0.3  # the window closes at 30 % of the peak...
CLOSING_START = 0.85  # ...declining from 85 % of the window
TAIL_MINUTES = 45.0  # ...then fades with this time constant
TAIL_HOURS = 3.0  # ...and is gone after three hours
OFF_DAY_SHARE = 0.03  # days outside the schedule: a trickle during the window's hours
BURSTS_PER_ACTIVE_DAY = 3.0
BURST_MINUTES = (2, 10)
BURST_FACTOR = (1.5, 2.0)


@dataclass(frozen=True)
class Traffic:
    """Expected requests per minute for each traffic stream, from the simulation's minute 0.

    Streams are profile names, or `*` for the users' load that the interactive profiles share.
    """

    per_minute: Mapping[str, Sequence[float]]
    poisson: bool
    description: str
    repeat: bool = False  # a file's minutes start over when the run is longer than the file
    offset: int = 0  # the run's minute at which the streams' minute 0 plays

    def rate(self, stream: str, minute: int) -> float:
        """Expected requests per minute of a stream in a run minute (0 before the offset and, unless repeated,
        beyond the end)."""
        values = self.per_minute.get(stream)
        index = minute - self.offset
        if not values or index < 0:
            return 0.0
        if index >= len(values):
            return values[index % len(values)] if self.repeat else 0.0
        return values[index]


def _clock(hhmm: str) -> float:
    hours, minutes = hhmm.split(":")
    return int(hours) + int(minutes) / 60


def business_share(schedule: Schedule, local: datetime) -> float:
    """The share of the declared peak at a local time: the built-in business day (see the module docstring)."""
    start, end = _clock(schedule.start), _clock(schedule.end)
    length = (end - start) % 24 or 24.0
    hour = local.hour + local.minute / 60
    since = (hour - start) % 24  # hours since the most recent opening time (a window may cross midnight)
    opened = local - timedelta(hours=since)
    days = schedule.days if schedule.enabled else ("mon", "tue", "wed", "thu", "fri")
    if since < length:
        if DAY_NAMES[opened.weekday()] not in days:
            return OFF_DAY_SHARE
        position = since / length
        if position < RAMP_SHARE:
            share = EARLY_SHARE + (1 - EARLY_SHARE) * 0.5 * (1 - math.cos(math.pi * position / RAMP_SHARE))
        elif position > CLOSING_START:
            share = 1 - (1 - CLOSING_SHARE) * (position - CLOSING_START) / (1 - CLOSING_START)
        else:
            share = 1.0
        distance = abs(position - LUNCH_CENTRE) / LUNCH_WIDTH
        if distance < 1:
            share -= LUNCH_DEPTH * 0.5 * (1 + math.cos(math.pi * distance))
        return share
    share = 0.0
    after = since - length
    if after < TAIL_HOURS and DAY_NAMES[opened.weekday()] in days:
        share = CLOSING_SHARE * math.exp(-after * 60 / TAIL_MINUTES)
    before = 24 - since
    if before <= PRE_WINDOW_HOURS and DAY_NAMES[(local + timedelta(hours=before)).weekday()] in days:
        share = max(share, EARLY_SHARE * (1 - before / PRE_WINDOW_HOURS))
    return share


def business_day(schedule: Schedule, peak_per_minute: float, start: datetime, minutes: int, seed: int) -> list[float]:
    """Expected requests per minute over `minutes` from `start` (a UTC instant), with seeded bursts."""
    zone = ZoneInfo(schedule.timezone)
    rates = [
        peak_per_minute * business_share(schedule, (start + timedelta(minutes=m)).astimezone(zone))
        for m in range(minutes)
    ]
    generator = random.Random(seed * 7919 + 17)
    factors = [1.0] * minutes
    for day_start in range(0, minutes, 1440):
        busy = [m for m in range(day_start, min(minutes, day_start + 1440)) if rates[m] >= 0.5 * peak_per_minute]
        if not busy:
            continue
        for _ in range(poisson(generator, BURSTS_PER_ACTIVE_DAY)):
            at = generator.choice(busy)
            factor = generator.uniform(*BURST_FACTOR)
            for m in range(at, min(minutes, at + generator.randint(*BURST_MINUTES))):
                factors[m] = max(factors[m], factor)  # overlapping bursts do not compound
    return [rate * factor for rate, factor in zip(rates, factors, strict=True)]


def poisson(generator: random.Random, mean: float) -> int:
    """A Poisson draw: inversion for small means, Hörmann's PTRS transformed rejection for large ones."""
    if mean <= 0:
        return 0
    if mean < 10:
        limit, product, count = math.exp(-mean), generator.random(), 0
        while product > limit:
            product *= generator.random()
            count += 1
        return count
    slam = math.sqrt(mean)
    loglam = math.log(mean)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    while True:
        u = generator.random() - 0.5
        v = generator.random()
        us = 0.5 - abs(u)
        k = math.floor((2 * a / us + b) * u + mean + 0.43)
        if us >= 0.07 and v <= vr:
            return k
        if k < 0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + math.log(inv_alpha) - math.log(a / (us * us) + b) <= -mean + k * loglam - math.lgamma(k + 1):
            return k


def poisson_from_uniform(uniform: float, mean: float) -> int:
    """The Poisson quantile of a uniform draw: one draw per sample whatever the mean, so that runs that differ
    only in their state consume the same random numbers (common random numbers keep compared runs coupled)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(NormalDist(mean, math.sqrt(mean)).inv_cdf(min(max(uniform, 1e-12), 1 - 1e-12))))
    probability = math.exp(-mean)
    cumulative, count = probability, 0
    while cumulative < uniform and count < 10 * mean + 50:
        count += 1
        probability *= mean / count
        cumulative += probability
    return count


def _numbers(values: Any, where: str) -> list[float]:
    if not isinstance(values, list) or not values:
        raise SimulationError(f"{where}: must be a non-empty list of requests per minute")
    out = []
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0 or math.isinf(value):
            raise SimulationError(f"{where}[{index}]: must be a number of requests >= 0")
        out.append(float(value))
    return out


def load_traffic_file(path: Path) -> Traffic:
    """Requests per minute from a CSV or JSON file (see the module docstring); one-line errors name the place."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SimulationError(f"{path}: cannot be read ({error.__class__.__name__})") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as error:
            raise SimulationError(f"{path}: not valid JSON (line {getattr(error, 'lineno', '?')})") from None
        if isinstance(data, list):
            streams = {"*": _numbers(data, str(path))}
        elif isinstance(data, dict) and "requestsPerMinute" in data:
            streams = {"*": _numbers(data["requestsPerMinute"], f"{path}: requestsPerMinute")}
        elif isinstance(data, dict) and isinstance(data.get("profiles"), dict) and data["profiles"]:
            streams = {
                str(name): _numbers(values, f"{path}: profiles.{name}") for name, values in data["profiles"].items()
            }
        else:
            raise SimulationError(f"{path}: expected a list, requestsPerMinute or profiles")
    elif path.suffix.lower() == ".csv":
        streams = _csv_streams(text, path)
    else:
        raise SimulationError(f"{path}: must be a .csv or .json file")
    # A file covers whole days (padded with quiet minutes), which repeat when the run is longer.
    days = max(1, math.ceil(max(len(values) for values in streams.values()) / 1440))
    padded = {name: values + [0.0] * (days * 1440 - len(values)) for name, values in streams.items()}
    return Traffic(padded, poisson=False, description=f"requests per minute from {path.name}", repeat=True)


def _csv_streams(text: str, path: Path) -> dict[str, list[float]]:
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip() for f in reader.fieldnames or []]
    if "requests" not in fields:
        raise SimulationError(f"{path}: needs a header with a requests column (and optionally minute, profile)")
    streams: dict[str, list[float]] = {}
    for line, row in enumerate(reader, start=2):
        row = {str(k).strip(): v for k, v in row.items()}
        stream = (row.get("profile") or "").strip() or "*"
        try:
            value = float(str(row.get("requests", "")).strip())
        except ValueError:
            raise SimulationError(f"{path}: line {line}: requests must be a number") from None
        if not value >= 0 or math.isinf(value):
            raise SimulationError(f"{path}: line {line}: requests must be a number >= 0")
        values = streams.setdefault(stream, [])
        minute_text = (row.get("minute") or "").strip()
        if minute_text:
            if not minute_text.isdigit():
                raise SimulationError(f"{path}: line {line}: minute must be a whole number >= 0")
            minute = int(minute_text)
            if minute < len(values):
                raise SimulationError(f"{path}: line {line}: minute {minute} comes after a later minute")
            values.extend([0.0] * (minute - len(values)))
        values.append(value)
    if not streams:
        raise SimulationError(f"{path}: has no rows")
    return streams
