"""Envoy Gateway v1.9.0 in front of the replicas: rate limits, circuit breaking, retries, request timeouts.

- Local rate limits are token buckets per Envoy replica, refilled with `requests` tokens every `unit`
  (envoyproxy/gateway v1.9.0 `internal/xds/translator/local_ratelimit.go`: `MaxTokens` = `TokensPerFill` =
  requests, `FillInterval` = unit); a `Distinct` header selector gives every client its own bucket. Over the
  limit: 429.
- `circuitBreaker.maxParallelRequests` (CRD default 1024) caps requests in flight per Envoy replica; overflow is
  a local 503 that is not retried.
- `retry` on `retriable-status-codes` 503 sends a request vLLM refused (queue full) again after a backoff; it
  helps when a slot frees within the backoff, and a retry budget (`retryBudget.percent` of requests in flight)
  caps concurrent retries.
- The request timeout (`getEffectiveRequestTimeout`, `internal/xds/translator/route.go`) cuts longer requests
  with a 504; vLLM aborts them when the stream resets.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmscale.simulate.stack import Route


@dataclass(slots=True)
class RateLimiter:
    """The token buckets of one route, pooled: every client's bucket on every Envoy replica."""

    tokens_per_window: float
    window_seconds: float
    window_start: float = -1.0
    left: float = 0.0

    def admit(self, now: float, requests: float) -> float:
        """How many of `requests` arriving now find a token (the rest get 429)."""
        if now >= self.window_start + self.window_seconds or self.window_start < 0:
            self.window_start = now - (now % self.window_seconds)
            self.left = self.tokens_per_window
        allowed = min(requests, self.left)
        self.left -= allowed
        return allowed


def rate_limiter(route: Route, clients: int, envoy_replicas: int) -> RateLimiter | None:
    """The route's pooled buckets, assuming traffic spreads evenly over clients and Envoy replicas."""
    if route.rate_limit_requests is None:
        return None
    buckets = envoy_replicas * (clients if route.rate_limit_per_client else 1)
    return RateLimiter(route.rate_limit_requests * buckets, route.rate_limit_window_seconds)


def parallel_limit(route: Route, envoy_replicas: int) -> float:
    """Requests the route may hold in flight across Envoy replicas before the circuit breaker answers 503."""
    return route.max_parallel_requests * envoy_replicas


def retry_capacity(route: Route, completions_per_second: float, in_flight: float) -> float:
    """Refused requests a retry can still place: slots freed during the retries' backoff, within the budget."""
    if not route.retry_on_503 or route.retries <= 0:
        return 0.0
    window = route.retries * route.retry_backoff_seconds
    budget = max(3.0, in_flight * route.retry_budget_percent / 100)
    return min(completions_per_second * window, budget)
