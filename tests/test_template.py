"""`pulumi new` with this project as a template: its prompts name real config keys and their defaults are valid."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from llmscale.config.errors import ConfigError
from llmscale.config.loader import REGION_KEY, SECRET_KEYS, parse_values
from llmscale.config.models import StackConfig
from tests.helpers import REPO

PROJECT = yaml.safe_load((REPO / "Pulumi.yaml").read_text(encoding="utf-8"))
PROMPTS: dict[str, dict[str, Any]] = PROJECT["template"]["config"]
KEYS = {f"llmscale:{field.alias or name}" for name, field in StackConfig.model_fields.items()}


def test_the_template_has_a_description_and_the_prompts_a_team_starts_from() -> None:
    assert PROJECT["template"]["description"]
    assert {"llmscale:tier", "llmscale:platform", REGION_KEY, "llmscale:models", "llmscale:load"} <= set(PROMPTS)
    assert all(prompt["description"] for prompt in PROMPTS.values())


def test_every_prompt_is_a_config_key_llmscale_reads() -> None:
    assert set(PROMPTS) - {REGION_KEY} <= KEYS
    assert set(PROMPTS) - KEYS == {REGION_KEY}


def test_secrets_are_prompted_as_secrets_and_have_no_default() -> None:
    for key, prompt in PROMPTS.items():
        is_secret = key.removeprefix("llmscale:") in SECRET_KEYS
        assert bool(prompt.get("secret")) == is_secret, key
        assert not is_secret or "default" not in prompt, key


def test_the_defaults_parse_and_validate_names_the_one_key_left() -> None:
    """What `pulumi new` writes when every default is accepted (values as strings, as the CLI keeps them) and a
    key is typed in for the secret prompt: `llmscale validate` asks only for the networks that may reach the host
    (no default would be right for them), and with those the stack is valid."""
    values = {key: str(prompt["default"]) for key, prompt in PROMPTS.items() if "default" in prompt}
    secrets = {key for key, prompt in PROMPTS.items() if prompt.get("secret")}
    values.update({key: json.dumps({"chat-app": "k-0123456789abcdef0123456789"}) for key in secrets})
    with pytest.raises(ConfigError) as caught:
        parse_values(values, secrets, "stacks/Pulumi.dev.yaml", stack="dev")
    assert [problem.key for problem in caught.value.problems] == ["llmscale:host.allowedCidrs"]
    values["llmscale:host"] = json.dumps({"allowedCidrs": ["203.0.113.0/24"]})
    config, region = parse_values(values, secrets, "stacks/Pulumi.dev.yaml", stack="dev")
    assert (str(config.tier), str(config.platform), region) == ("single-gpu", "aws", "eu-west-1")
    assert config.load.peak_concurrent_users == 25
    assert [p.name for p in config.models] == ["chat"]
