"""Latency distributions and counters the simulation fills as it runs, and the percentiles read from them."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

BIN_RATIO = 1.01  # 1 % wide latency bins
BIN_FLOOR = 0.01  # seconds
_LOG_RATIO = math.log(BIN_RATIO)
_INVERSE_LOG_RATIO = 1 / _LOG_RATIO


def bin_index(seconds: float) -> int:
    """The histogram bin of a latency: 0 up to BIN_FLOOR, then one bin per 1 %."""
    return 0 if seconds <= BIN_FLOOR else int(math.log(seconds / BIN_FLOOR) * _INVERSE_LOG_RATIO) + 1


def weighted_percentile(pairs: Iterable[tuple[float, float]], quantile: float) -> float | None:
    """The value below which `quantile` of the weight lies, from (value, weight) pairs; None without weight."""
    ordered = sorted(p for p in pairs if p[1] > 0)
    total = sum(w for _, w in ordered)
    if total <= 0:
        return None
    wanted, seen = quantile * total, 0.0
    for value, weight in ordered:
        seen += weight
        if seen >= wanted - 1e-12:
            return value
    return ordered[-1][0]


@dataclass(slots=True)
class Histogram:
    """Weighted latencies in 1 % log-spaced bins: percentiles to within 1 %."""

    bins: dict[int, float] = field(default_factory=dict)
    total: float = 0.0

    def add(self, seconds: float, weight: float) -> None:
        """Count `weight` requests that took `seconds`."""
        if weight <= 0:
            return
        index = bin_index(seconds)
        self.bins[index] = self.bins.get(index, 0.0) + weight
        self.total += weight

    def merge(self, other: Histogram) -> None:
        """Add another histogram's counts to this one."""
        for index, weight in other.bins.items():
            self.bins[index] = self.bins.get(index, 0.0) + weight
        self.total += other.total

    def percentile(self, quantile: float) -> float | None:
        """The upper edge of the bin holding the `quantile` (None when empty)."""
        if self.total <= 0:
            return None
        wanted, seen = quantile * self.total, 0.0
        for index in sorted(self.bins):
            seen += self.bins[index]
            if seen >= wanted - 1e-9:
                return BIN_FLOOR * BIN_RATIO**index
        return BIN_FLOOR * BIN_RATIO ** max(self.bins)


@dataclass(slots=True)
class Counts:
    """What happened to requests: served, refused (by reason), timed out, cut in flight."""

    arrivals: float = 0.0
    served: float = 0.0
    rate_limited: float = 0.0
    overload: float = 0.0
    no_replica: float = 0.0
    region_down: float = 0.0
    timed_out: float = 0.0
    killed: float = 0.0

    @property
    def rejected(self) -> float:
        """Refused before running: 429 from the rate limit, 503 from a full queue or no replica, a dead region."""
        return self.rate_limited + self.overload + self.no_replica + self.region_down

    @property
    def failed(self) -> float:
        """Every request that did not get its answer."""
        return self.rejected + self.timed_out + self.killed

    def add(self, other: Counts) -> None:
        """Add another period's counts."""
        self.arrivals += other.arrivals
        self.served += other.served
        self.rate_limited += other.rate_limited
        self.overload += other.overload
        self.no_replica += other.no_replica
        self.region_down += other.region_down
        self.timed_out += other.timed_out
        self.killed += other.killed
