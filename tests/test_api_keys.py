"""`llmscale:apiKeys`: one parser and one rule, checked when the config loads, never echoing a key."""

from __future__ import annotations

import json

import pytest

from llmscale.config.errors import ConfigError
from llmscale.config.loader import parse_values
from llmscale.serving.api_keys import api_key_clients, api_key_problem

GOOD = "k-0123456789abcdefXYZ"


def test_clients_from_a_json_object_or_one_key() -> None:
    assert api_key_clients(json.dumps({"team-a": GOOD, "team-b": GOOD[::-1]})) == {
        "team-a": GOOD,
        "team-b": GOOD[::-1],
    }
    assert api_key_clients(GOOD) == {"default": GOOD}
    assert api_key_problem(GOOD) is None


KEY_AS_NAME = "sk-live-0123456789abcdefghij"  # a key pasted where the client name goes


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("short-key", "the key must be 16-512 characters"),
        ('{"team-a": "has a space in it......"}', "the key of client #1 (counting from 1 in the order written) must"),
        (json.dumps({"team-a": GOOD, "bad client!": GOOD}), "the name of client #2 (counting from 1"),
        (json.dumps({KEY_AS_NAME: "team-a"}), "the key of client #1 (counting from 1 in the order written) must"),
        (json.dumps({"team-ok": GOOD, KEY_AS_NAME + "!": GOOD, "team-c": "x"}), "the name of client #2"),
        ('{"team-a": "' + GOOD + '", "team-a": "' + GOOD[::-1] + '"}', "clients #1 and #2"),
        ("{}", "names no key"),
        ("[" * 100_000, "the key must be"),  # deeper than json's recursion limit: a config error, not a crash
    ],
    ids=["bare", "weak", "bad-name", "key-as-name", "key-as-bad-name", "duplicate", "empty", "deep-json"],
)
def test_problems_name_clients_by_position_and_quote_nothing(raw: str, fragment: str) -> None:
    problem = api_key_problem(raw)
    assert problem is not None and fragment in problem
    for client, key in api_key_clients(raw).items():
        assert key not in problem
        assert client == "default" or client not in problem
    assert "sk-live" not in problem and "team-a" not in problem


def _stack(api_keys: str) -> dict[str, object]:
    return {
        "llmscale:tier": "multi-gpu",
        "llmscale:platform": "kubernetes",
        "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"}],
        "llmscale:apiKeys": api_keys,
    }


def test_a_weak_key_is_a_config_error_on_every_tier_that_deploys_a_gateway() -> None:
    values = _stack('{"team-a": "sk-live-short"}')
    with pytest.raises(ConfigError) as raised:
        parse_values(values, {"llmscale:apiKeys"}, "s")
    (line,) = raised.value.lines()
    assert line.startswith("s: llmscale:apiKeys: the key of client #1 (counting from 1 in the order written) must be")
    assert "sk-live-short" not in line and "team-a" not in line
    values.pop("llmscale:apiKeys")
    with pytest.raises(ConfigError) as missing:
        parse_values(values, set(), "s")
    assert missing.value.lines() == [
        "s: llmscale:apiKeys: required: clients authenticate with these keys; run "
        '`pulumi config set --secret llmscale:apiKeys \'{"team-a": "<key>"}\'`'
    ]


def test_pulumi_up_reports_key_problems_without_key_material() -> None:
    """During `pulumi up` the keys arrive decrypted: the program's RunError carries the same lines, quoting none."""
    import pulumi

    import llmscale.program
    from llmscale.config.loader import LoadedStack
    from llmscale.config.models import Platform, StackConfig, Tier
    from llmscale.plan.runner import run_program

    raw = json.dumps({KEY_AS_NAME: "team-a", "team-b": "sk-live-short"})
    values = _stack(raw)
    with pytest.raises(ConfigError) as offline:
        parse_values(values, {"llmscale:apiKeys"}, "stacks/Pulumi.keys.yaml")
    placeholder = StackConfig(tier=Tier.MULTI_GPU, platform=Platform.KUBERNETES, models=values["llmscale:models"])
    stack = LoadedStack(
        name="keys",
        source="stacks/Pulumi.keys.yaml",
        config=placeholder,
        region=None,
        pulumi_config={k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()},
        secret_keys=frozenset({"llmscale:apiKeys"}),
    )
    with pytest.raises(pulumi.RunError) as raised:
        run_program(stack, llmscale.program.main)
    message = str(raised.value)
    assert message.splitlines()[1:] == offline.value.lines()
    assert "client #1, #2" in message
    for material in (KEY_AS_NAME, "sk-live", "team-a", "team-b"):
        assert material not in message
