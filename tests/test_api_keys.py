"""`llmscale:apiKeys`: one parser and one rule, checked when the config loads, never echoing a key."""

from __future__ import annotations

import json

import pytest

from llmscale.api_keys import api_key_clients, api_key_problem
from llmscale.config.errors import ConfigError
from llmscale.config.loader import parse_values

GOOD = "k-0123456789abcdefXYZ"


def test_clients_from_a_json_object_or_one_key() -> None:
    assert api_key_clients(json.dumps({"team-a": GOOD, "team-b": GOOD[::-1]})) == {
        "team-a": GOOD,
        "team-b": GOOD[::-1],
    }
    assert api_key_clients(GOOD) == {"default": GOOD}
    assert api_key_problem(GOOD) is None


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("short-key", "the key of default must be 16-512 characters"),
        ('{"team-a": "has a space in it......"}', "the key of team-a must be"),
        (json.dumps({"bad client!": GOOD}), "client name(s) bad client! must be"),
        ("{}", "names no key"),
    ],
)
def test_problems_name_the_client_not_the_key(raw: str, fragment: str) -> None:
    problem = api_key_problem(raw)
    assert problem is not None and fragment in problem
    for key in api_key_clients(raw).values():
        assert key not in problem


def test_a_weak_key_is_a_config_error_on_every_tier_that_deploys_a_gateway() -> None:
    values = {
        "llmscale:tier": "multi-gpu",
        "llmscale:platform": "kubernetes",
        "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"}],
        "llmscale:apiKeys": '{"team-a": "sk-live-short"}',
    }
    with pytest.raises(ConfigError) as raised:
        parse_values(values, {"llmscale:apiKeys"}, "s")
    (line,) = raised.value.lines()
    assert line.startswith("s: llmscale:apiKeys: the key of team-a must be 16-512 characters")
    assert "sk-live-short" not in line
    values.pop("llmscale:apiKeys")
    with pytest.raises(ConfigError) as missing:
        parse_values(values, set(), "s")
    assert missing.value.lines() == [
        "s: llmscale:apiKeys: required: clients authenticate with these keys; run "
        '`pulumi config set --secret llmscale:apiKeys \'{"team-a": "<key>"}\'`'
    ]
