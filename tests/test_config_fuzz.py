"""Hostile and broken stack files: bounded reading, value-free messages, and no crash on any input.

A stack file can come from a pull request that CI plans. Whatever the bytes, loading ends in a config or a
ConfigError whose lines name the file, the line and the key, and never quote the input.
"""

from __future__ import annotations

import json
import re
import string
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from llmscale.config import ConfigError, load_stack, parse_values
from llmscale.config.credentials import looks_like_credential
from llmscale.config.loader import read_stack_text
from llmscale.config.stack_yaml import MAX_ALIASES, MAX_BYTES, MAX_DEPTH, MAX_NODES

PLANTED = "Hunter2Planted"
SOURCE = "stacks/Pulumi.fuzz.yaml"
VALID = """\
config:
  aws:region: eu-west-1
  llmscale:tier: multi-gpu
  llmscale:platform: kubernetes
  llmscale:models:
    - name: chat
      model: meta-llama/Llama-3.1-8B-Instruct
      maxReplicas: 2
      extraArgs: [--enable-chunked-prefill]
  llmscale:schedule:
    timezone: Europe/Berlin
    days: [mon, tue, wed]
  llmscale:apiKeys:
    secure: v1:AAAABBBBCCCCDDDD
"""


def lines_of(text: str) -> list[str]:
    """The problem lines for a stack file's text, as `llmscale validate` reads it (empty when it is valid)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "Pulumi.fuzz.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_stack(str(path))
        except ConfigError as error:
            assert error.lines(), "a ConfigError without a problem"
            lines = [line.replace(error.source, SOURCE, 1) for line in error.lines()]
            for line in lines:
                assert line.startswith(f"{SOURCE}: ") and "\n" not in line, line
            return lines
    return []


def test_the_fuzzing_base_is_valid() -> None:
    assert lines_of(VALID) == []


# --- values are never quoted ------------------------------------------------------------------------------

HOSTILE_VALUES = {
    "tag": f"!{PLANTED}",
    "tag-with-handle": f"!!{PLANTED}",
    "verbatim-tag": f"!<tag:{PLANTED}>",
    "alias": f"*{PLANTED}",
    "anchor-then-text": f"&{PLANTED} {PLANTED}",
    "reserved-at": f"@{PLANTED}",
    "reserved-backtick": f"`{PLANTED}",
    "bad-escape": f'"{PLANTED}\\q"',
    "binary": f"!!binary {PLANTED}",
    "int-tag": f"!!int {PLANTED}",
    "bool-tag": f"!!bool {PLANTED}",
    "map-tag": f"!!map {PLANTED}",
    "set": f"!!set {{{PLANTED}: null}}",
    "flow-garbage": f"[{PLANTED}, {{",
    "mapping-in-value": f"{PLANTED}: {PLANTED}",
    "tab": f"\t{PLANTED}",
    "control-character": f"{PLANTED}\x07",
    "directive": f"%{PLANTED}",
}


@pytest.mark.parametrize("value", HOSTILE_VALUES.values(), ids=HOSTILE_VALUES.keys())
@pytest.mark.parametrize("key", ["llmscale:tier", "llmscale:hfToken"])
def test_yaml_errors_name_line_and_key_never_the_value(value: str, key: str) -> None:
    text = VALID.replace("  llmscale:tier: multi-gpu\n", f"  {key}: {value}\n  llmscale:tier: multi-gpu\n")
    lines = lines_of(text)
    assert lines, "accepted"
    for line in lines:
        assert PLANTED.lower() not in line.lower(), line
    assert lines[0].startswith((f"{SOURCE}: line ", f"{SOURCE}: {key}: ", f"{SOURCE}: file: "))


def test_an_unknown_tag_names_line_and_key() -> None:
    text = VALID.replace("  llmscale:tier: multi-gpu\n", f"  llmscale:tier: !{PLANTED}\n")
    assert lines_of(text) == [
        f"{SOURCE}: line 3: llmscale:tier: not valid YAML (an unknown tag; quote a value that starts with !)"
    ]


def test_an_undefined_alias_names_line_and_key() -> None:
    text = VALID.replace("      maxReplicas: 2\n", f"      maxReplicas: *{PLANTED}\n")
    assert lines_of(text) == [
        f"{SOURCE}: line 8: llmscale:models[0].maxReplicas: not valid YAML (an alias no anchor defines; "
        "quote a value that starts with *)"
    ]


def test_a_quoted_value_with_those_characters_is_fine() -> None:
    text = VALID.replace("  llmscale:tier: multi-gpu\n", "  llmscale:tier: multi-gpu\n  other:password: '!*&@`%'\n")
    assert lines_of(text) == []


def test_timestamps_clock_times_and_equals_signs_stay_strings() -> None:
    """Pulumi hands a program these as strings; the offline loader must not build dates or base-60 numbers, nor
    fail on `=`: an unquoted `end: 19:30` is valid for `pulumi up`, so it is for validate too."""
    times = "    timezone: Europe/Berlin\n    start: 7:30\n    end: 19:30\n"
    text = VALID.replace("    timezone: Europe/Berlin\n", times)
    text += "  other:date: 2024-01-01\n  other:equals: =\n  other:numbers: [8, 0x10, 1.5, -2]\n"
    values, secret_keys, _ = read_stack_text(text, SOURCE)
    assert values["other:date"] == "2024-01-01"
    assert values["other:equals"] == "="
    assert values["other:numbers"] == [8, 16, 1.5, -2]
    assert values["llmscale:schedule"]["end"] == "19:30"
    with pytest.raises(ConfigError) as caught:  # 7:30 is a string too, but not HH:MM
        parse_values(values, secret_keys, SOURCE)
    assert [p.key for p in caught.value.problems] == ["llmscale:schedule.start"]


# --- bounds --------------------------------------------------------------------------------------------------


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs" shape: each level lists the previous one `width` times (width**levels values)."""
    rows = [f"  other:l0: &l0 [{', '.join(['lol'] * width)}]"]
    rows += [f"  other:l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * width)}]" for n in range(1, levels)]
    return VALID + "\n".join(rows) + "\n"


def test_an_alias_bomb_is_refused_at_the_alias_that_crosses_the_bound() -> None:
    text = alias_bomb()
    assert len(text.encode()) < 2048 + len(VALID)
    (line,) = lines_of(text)
    assert f"expands to more than {MAX_NODES} values (aliases included)" in line
    assert line.startswith(f"{SOURCE}: line 19: other:l4[")


def test_many_small_aliases_are_refused() -> None:
    rows = ["  other:anchor: &a x"] + [f"  other:a{n}: *a" for n in range(MAX_ALIASES + 1)]
    (line,) = lines_of(VALID + "\n".join(rows) + "\n")
    assert f"more than {MAX_ALIASES} aliases" in line


def test_aliases_within_the_bounds_still_work() -> None:
    text = VALID.replace("    days: [mon, tue, wed]\n", "    days: &days [mon, tue, wed]\n") + "  other:days: *days\n"
    values, _, _ = read_stack_text(text, SOURCE)
    assert values["other:days"] == ["mon", "tue", "wed"]


def test_an_alias_inside_its_own_value_is_refused() -> None:
    (line,) = lines_of(VALID + "  other:loop: &loop [a, *loop]\n")
    assert line == (f"{SOURCE}: line 15: other:loop[1]: not valid YAML (an alias inside the value it refers to)")


@pytest.mark.parametrize(
    "nested",
    [
        "[" * 100_000 + "]" * 100_000,
        "{a: " * 5_000 + "1" + "}" * 5_000,
        "\n" + "".join(" " * (4 + 2 * n) + f"k{n}:\n" for n in range(200)) + " " * 404 + "x",
        "\n" + "".join(" " * (4 + 2 * n) + "-\n" for n in range(200)) + " " * 404 + "x",
    ],
    ids=["flow-lists", "flow-mappings", "block-mappings", "block-lists"],
)
def test_deep_nesting_is_refused_without_recursion(nested: str) -> None:
    (line,) = lines_of(VALID + f"  other:deep: {nested}\n")
    assert re.match(rf"{SOURCE}: line \d+: other:deep", line), line
    assert f"nested more than {MAX_DEPTH} levels deep" in line or "maximum nesting depth" in line


def test_deep_json_text_is_refused_as_pulumi_would_hand_it_over() -> None:
    """Under `pulumi up` structured keys arrive as JSON text: the same bounds apply to it."""
    values, secret_keys, _ = read_stack_text(VALID, SOURCE)
    for text, reason in (("[" * 100_000 + "]" * 100_000, "not a plain string"), ("[" * 40 + "]" * 40, "nested")):
        with pytest.raises(ConfigError) as caught:
            parse_values({**values, "llmscale:models": text}, secret_keys, SOURCE)
        assert [p.key for p in caught.value.problems] == ["llmscale:models"]
        assert reason in caught.value.problems[0].message
    wide = json.dumps([{"name": f"m{n}", "model": "x/y"} for n in range(MAX_NODES)])
    with pytest.raises(ConfigError) as caught:
        parse_values({**values, "llmscale:models": wide}, secret_keys, SOURCE)
    assert caught.value.problems[0].message == f"holds more than {MAX_NODES} values"


def test_a_file_over_the_size_bound_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.big.yaml"
    path.write_text(VALID + "#" * (MAX_BYTES - len(VALID) + 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_stack(str(path))
    assert [p.render(caught.value.source) for p in caught.value.problems] == [
        f"{caught.value.source}: file: is larger than 1024 KiB, the most a stack file may be"
    ]
    path.write_text(VALID + "#" * (MAX_BYTES - len(VALID) - 1) + "\n", encoding="utf-8")
    assert load_stack(str(path)).config.tier == "multi-gpu"


def test_a_large_flat_file_is_refused_by_its_value_count() -> None:
    rows = "".join(f"  other:k{n}: {n}\n" for n in range(MAX_NODES))
    (line,) = lines_of(VALID + rows)
    assert f"expands to more than {MAX_NODES} values" in line


# --- fuzzing -------------------------------------------------------------------------------------------------

YAMLISH = string.ascii_letters + string.digits + " \t\n:-[]{}!&*|>'\"#%@`,?.~=<\\" + "\x00\x07\u00e9\u2028\ufeff"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=YAMLISH, max_size=300))
def test_any_text_loads_or_fails_cleanly(text: str) -> None:
    lines_of(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, len(VALID)),
    st.integers(0, 40),
    st.text(alphabet=YAMLISH, max_size=40),
)
def test_a_mutated_stack_file_loads_or_fails_cleanly(at: int, cut: int, insert: str) -> None:
    """Splice random YAML-ish text into a valid stack file (with a planted secret value): never a crash,
    never the planted value in a message."""
    base = VALID.replace("  llmscale:tier: multi-gpu\n", f"  llmscale:tier: multi-gpu\n  other:pw: {PLANTED}\n")
    at = min(at, len(base))
    mutated = base[:at] + insert + base[at + cut :]
    for line in lines_of(mutated):
        assert PLANTED not in line or PLANTED in insert


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=30,
    )
)
def test_any_value_under_any_key_loads_or_fails_cleanly(value: object) -> None:
    """Arbitrary values in llmscale's keys, as YAML gives them and as JSON text (how Pulumi hands structured
    config to the program): validation answers with problems, it never crashes."""
    values, secret_keys, _ = read_stack_text(VALID, SOURCE)
    for key in ("models", "schedule", "tier", "kubernetes", "hfToken", "unknownKey"):
        for form in (value, json.dumps(value)):
            try:
                parse_values({**values, f"llmscale:{key}": form}, secret_keys, SOURCE)
            except ConfigError as error:
                assert all(line.startswith(f"{SOURCE}: ") and "\n" not in line for line in error.lines())


def test_the_cli_answers_exit_2_for_hostile_files(tmp_path: Path) -> None:
    from llmscale.cli import app

    hostile = {
        "bomb": alias_bomb(),
        "deep": VALID + "  other:deep: " + "[" * 50_000 + "]" * 50_000 + "\n",
        "tag": VALID.replace("multi-gpu", f"!{PLANTED}"),
        "duplicate": VALID + "  llmscale:tier: single-gpu\n",
    }
    for name, text in hostile.items():
        path = tmp_path / f"Pulumi.{name}.yaml"
        path.write_text(text, encoding="utf-8")
        for command in ("validate", "plan"):
            result = CliRunner().invoke(app, [command, str(path), *(["--json"] if command == "plan" else [])])
            assert result.exit_code == 2, (name, command, result.stderr)
            assert result.stdout == ""
            assert len(result.stderr.splitlines()) == 1, result.stderr
            assert "Traceback" not in result.stderr and PLANTED not in result.stderr


PATHOLOGICAL = {
    "jwt-prefixes": "eyJ" * 350_000,
    "jwt-segments": "eyJ." * 260_000,
    "url-colons": "a://" + ":" * 1_000_000,
    "query-names": "http://h/?" + "a=1&" * 260_000,
    "sk-prefixes": "sk-" * 350_000,
    "pem-headers": "-----BEGIN " * 95_000,
    "base64ish": "aA1+" * 260_000,
}


@pytest.mark.parametrize("text", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_credential_detection_is_linear_on_hostile_strings(text: str) -> None:
    """1 MiB crafted to make a backtracking pattern quadratic (minutes); linear scanning takes well under a
    second (benchmarks/credential_detection.py). The guard only catches a hang, it is not a performance test."""
    started = time.monotonic()
    looks_like_credential(text)
    assert time.monotonic() - started < 30
