"""Route 53 DNS failover as clients live through it: detection, the answer flipping, caches expiring.

From the Route 53 rules in the reference facts: health checkers probe every `requestInterval` (10 or 30 s) and
an endpoint turns unhealthy after `failureThreshold` consecutive failures, so a dead primary is detected about
`requestInterval × failureThreshold` after it died. From then the failover record answers with the secondary,
provided the secondary is healthy (both unhealthy: Route 53 answers with the primary). Resolvers and clients
hold the old answer for up to the record's TTL; cache ages are spread evenly, so the share of clients on the
standby grows linearly from detection until one TTL later.
"""

from __future__ import annotations

from llmscale.simulate.stack import Failover, HealthCheck


def detect_seconds(check: HealthCheck) -> float:
    """Seconds from a failure until Route 53 counts the endpoint as unhealthy."""
    return check.interval_seconds * check.failure_threshold


def switched_share(failover: Failover, since_failure: float, standby_healthy: bool) -> float:
    """Share of clients sending to the standby `since_failure` seconds after the primary died."""
    if since_failure < 0 or not standby_healthy:
        return 0.0
    since_detect = since_failure - detect_seconds(failover.primary)
    if since_detect < 0:
        return 0.0
    if failover.ttl_seconds <= 0:
        return 1.0
    return min(1.0, since_detect / failover.ttl_seconds)


def switch_seconds(failover: Failover) -> float:
    """Seconds from the failure until every client resolves the standby (detection plus one TTL)."""
    return detect_seconds(failover.primary) + failover.ttl_seconds
