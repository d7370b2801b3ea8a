"""Alertmanager routing shared by every tier: the same receivers on the single host and on Kubernetes.

Critical alerts page (PagerDuty, else Slack), warnings go to Slack, info goes nowhere. Secret values are never
part of the routing: on Kubernetes the component fills `api_url` / `routing_key` from Pulumi secrets; on the
single host Alertmanager reads them from files at each notification (`api_url_file`, `routing_key_file`,
both in Alertmanager since v0.25: `config/notifiers.go` of prometheus/alertmanager v0.25.0 and v0.34.0).
"""

from __future__ import annotations

from typing import Any


def alertmanager_config(has_slack: bool, has_pagerduty: bool) -> dict[str, Any]:
    """Routes by severity: critical pages (PagerDuty, else Slack), warnings go to Slack, info nowhere.

    Secret values are left out: the caller fills `slack_api_url`/`routing_key`, or their `_file` forms.
    """
    receivers: list[dict[str, Any]] = [{"name": "null"}]
    routes: list[dict[str, Any]] = []
    if has_pagerduty:
        receivers.append({"name": "pager", "pagerduty_configs": [{"send_resolved": True}]})
        routes.append({"receiver": "pager", "matchers": ['severity="critical"'], "continue": bool(has_slack)})
    if has_slack:
        receivers.append(
            {
                "name": "chat",
                "slack_configs": [
                    {
                        "send_resolved": True,
                        "title": "{{ .CommonAnnotations.summary }}",
                        "text": "{{ .CommonAnnotations.description }}",
                    }
                ],
            }
        )
        routes.append({"receiver": "chat", "matchers": ['severity=~"critical|warning"']})
    return {
        "route": {
            "receiver": "null",
            "group_by": ["alertname", "model_name"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "receivers": receivers,
    }


def file_secrets_config(has_slack: bool, has_pagerduty: bool, secrets_dir: str) -> dict[str, Any]:
    """The same routing with each receiver's secret read from a file under `secrets_dir` (the single host)."""
    config = alertmanager_config(has_slack=has_slack, has_pagerduty=has_pagerduty)
    for receiver in config["receivers"]:
        for slack in receiver.get("slack_configs", []):
            slack["api_url_file"] = f"{secrets_dir}/slack_webhook_url"
        for pager in receiver.get("pagerduty_configs", []):
            pager["routing_key_file"] = f"{secrets_dir}/pagerduty_routing_key"
    return config
