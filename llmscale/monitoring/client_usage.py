"""Usage per client on the single host: the usage meter's metric names and the dashboard panels that show them.

Caddy cannot count per client: its metrics (`caddy_http_requests_total`) are labelled by server and handler
only, and it never sees tokens. The single host's usage meter (`templates/single_host/usage-meter.py.j2`),
which every request passes through on its way to vLLM, counts requests by client and status code, and the
prompt and completion tokens of every response that carries vLLM's `usage` block. A stream carries one only
when the client asks for it (`stream_options: {"include_usage": true}`); the meter counts the successful
responses without one apart, so a dashboard never shows fewer tokens than were served without saying so.
"""

from __future__ import annotations

from typing import Any

from llmscale.monitoring.dashboards import DATASOURCE

CLIENT_REQUESTS = "llmscale_client_requests_total"
CLIENT_PROMPT_TOKENS = "llmscale_client_prompt_tokens_total"
CLIENT_GENERATION_TOKENS = "llmscale_client_generation_tokens_total"
CLIENT_UNMETERED = "llmscale_client_unmetered_responses_total"
METRICS = (CLIENT_REQUESTS, CLIENT_PROMPT_TOKENS, CLIENT_GENERATION_TOKENS, CLIENT_UNMETERED)


def _panel(title: str, targets: list[tuple[str, str]], unit: str, description: str) -> dict[str, Any]:
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom"}},
        "targets": [
            {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": chr(ord("A") + index)}
            for index, (expr, legend) in enumerate(targets)
        ],
    }


def client_panels() -> list[dict[str, Any]]:
    """Requests, errors, tokens and unmetered responses per client (the API keys' client names)."""
    rate = "[$__rate_interval]"
    return [
        _panel(
            "Requests per client",
            [(f"sum by (client) (rate({CLIENT_REQUESTS}{rate}))", "{{client}}")],
            "reqps",
            "Requests under /v1/ per API-key client (an empty client is a request without a valid key).",
        ),
        _panel(
            "Errors per client",
            [(f'sum by (client, code) (rate({CLIENT_REQUESTS}{{code=~"4..|5.."}}{rate}))', "{{client}} {{code}}")],
            "reqps",
            "4xx and 5xx answers per client and status code (503: vLLM's queue is full or it is down).",
        ),
        _panel(
            "Tokens per client",
            [
                (f"sum by (client) (rate({CLIENT_PROMPT_TOKENS}{rate}))", "{{client}} prompt"),
                (f"sum by (client) (rate({CLIENT_GENERATION_TOKENS}{rate}))", "{{client}} generated"),
            ],
            "short",
            "Tokens per second from vLLM's usage block. Streams carry one only with "
            "stream_options.include_usage: see the unmetered panel.",
        ),
        _panel(
            "Responses without token counts",
            [(f"sum by (client) (rate({CLIENT_UNMETERED}{rate}))", "{{client}}")],
            "reqps",
            "Successful responses that carried no usage block (streams without stream_options.include_usage): "
            "their tokens are missing from the panel above.",
        ),
    ]


def with_client_panels(board: dict[str, Any]) -> dict[str, Any]:
    """The dashboard with the per-client panels added below its own, in the same two-column grid."""
    panels = list(board["panels"])
    bottom = max((p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels), default=0)
    next_id = max((p["id"] for p in panels), default=0) + 1
    for index, panel in enumerate(client_panels()):
        panel["id"] = next_id + index
        panel["gridPos"] = {"h": 8, "w": 12, "x": 12 * (index % 2), "y": bottom + 8 * (index // 2)}
        panels.append(panel)
    return {**board, "panels": panels}
