"""Every command, driven with random bad arguments: exit 2, exactly one line on stderr, never a traceback.

Each example starts from arguments that work and spoils exactly one of them with a value hypothesis draws from
what that option cannot accept (text with newlines and escapes included): a name that is not a stack name, a
region pulumi-aws does not know, a time zone, a model id without a size, a number out of range, a calibration
file that is binary, an output path that is a file, an option that does not exist. The commands run in-process
through typer's CliRunner on the real `llmscale` app, in a directory holding one valid stack.
"""

from __future__ import annotations

import shutil
import zoneinfo
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from llmscale.cli import app
from llmscale.config.regions import AWS_REGIONS
from llmscale.config.scaffold import HF_MODEL_ID, NEW_STACK_NAME, S3_MODEL
from llmscale.paths import STACK_NAME
from llmscale.sizing.calibration import CalibrationError, parse_quantization, resolve_gpu
from llmscale.sizing.model_size import parameters_billions
from tests.helpers import REPO

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

# Anything a user might type, newlines and terminal escapes included.
junk = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30)


def one_line_usage_error(result: Result) -> None:
    text = result.stdout + result.stderr
    assert result.exit_code == 2, (result.exit_code, text, repr(result.exception))
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in text
    assert result.stdout == ""
    lines = result.stderr.strip("\n").splitlines()
    assert len(lines) == 1, lines
    assert lines[0].strip()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with one valid stack (`pilot`, an existing server), a binary file and a plain file."""
    root = tmp_path_factory.mktemp("bad-input")
    (root / "stacks").mkdir()
    shutil.copy(REPO / "stacks" / "Pulumi.single-gpu-host.yaml", root / "stacks" / "Pulumi.pilot.yaml")
    shutil.copy(REPO / "stacks" / "Pulumi.onprem.yaml", root / "stacks" / "Pulumi.cluster.yaml")
    (root / "Pulumi.yaml").write_text("name: llmscale\nruntime: python\nstackConfigDir: stacks\n", encoding="utf-8")
    (root / "binary.json").write_bytes(bytes(range(256)) * 4)
    (root / "a-file").write_text("not a directory\n", encoding="utf-8")
    return root


def invoke(workdir: Path, args: list[str]) -> Result:
    import os

    here = Path.cwd()
    os.chdir(workdir)
    try:
        return CliRunner().invoke(app, args)
    finally:
        os.chdir(here)


def spoil(base: list[str], option: str, value: str) -> list[str]:
    """`base` with `option`'s value replaced by `value` (or the option added)."""
    args = list(base)
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    return args


# --- what each option cannot accept ------------------------------------------------------------------------


def _not(predicate: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda value: not predicate(value)


def _known_gpu(value: str) -> bool:
    try:
        resolve_gpu(value)
    except CalibrationError:
        return False
    return True


def _known_quantization(value: str) -> bool:
    try:
        parse_quantization(value)
    except CalibrationError:
        return False
    return True


def _timezone(value: str) -> bool:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _valid_model(value: str) -> bool:
    return bool(HF_MODEL_ID.match(value) or S3_MODEL.match(value)) and parameters_billions(value) is not None


bad_region = junk.filter(lambda value: value not in AWS_REGIONS)
bad_positive_int = st.one_of(st.integers(max_value=0).map(str), junk.filter(_not(str.isdigit)))
not_a_number = junk.filter(lambda value: _not_float(value))
unknown_option = st.from_regex(r"--[a-z]{3,12}", fullmatch=True).filter(
    lambda option: option not in {"--help", "--json", "--force", "--markdown", "--details", "--version"}
)


def _not_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return True
    return False


# --- size --------------------------------------------------------------------------------------------------

SIZE = ["size", "--users", "20", "--model", MODEL]


@st.composite
def bad_size_args(draw: st.DrawFn) -> list[str]:
    option, values = draw(
        st.sampled_from(
            [
                ("--users", bad_positive_int),
                ("--rps", st.one_of(st.floats(max_value=0, allow_nan=False).map(str), not_a_number)),
                ("--prompt-tokens", bad_positive_int),
                ("--output-tokens", bad_positive_int),
                ("--max-num-seqs", bad_positive_int),
                ("--p99", st.one_of(st.floats(max_value=0, allow_nan=False).map(str), not_a_number)),
                ("--think-time", st.floats(max_value=-0.001, allow_nan=False).map(str)),
                ("--price-per-gpu-hour", st.floats(max_value=-0.001, allow_nan=False).map(str)),
                ("--gpu", junk.filter(_not(_known_gpu))),
                ("--model", junk.filter(lambda value: parameters_billions(value) is None)),
                ("--quantization", junk.filter(_not(_known_quantization))),
                ("--region", bad_region),
                ("--calibration", st.sampled_from(["binary.json", "missing.json", "stacks", "a-file"])),
                ("--plot", st.sampled_from(["stacks", "plot.png"])),
            ]
        )
    )
    args = spoil(SIZE, option, draw(values))
    if option == "--rps":
        args = [part for part in args if part not in ("--users", "20")]
    return args


@SETTINGS
@given(args=bad_size_args())
def test_size(workdir: Path, args: list[str]) -> None:
    one_line_usage_error(invoke(workdir, args))


# --- new ---------------------------------------------------------------------------------------------------

NEW = ["new", "acme", "--tier", "enterprise", "--platform", "aws", "--region", "eu-west-1", "--users", "600",
       "--model", MODEL, "--standby-region", "eu-central-1", "--hosted-zone-id", "Z0123456789ABCDEFGHIJ",
       "--domain", "llm.acme.example"]  # fmt: skip


@st.composite
def bad_new_args(draw: st.DrawFn) -> list[str]:
    kind = draw(st.sampled_from(["name", "option", "unknown"]))
    if kind == "name":
        name = draw(junk.filter(lambda value: not NEW_STACK_NAME.match(value)))
        return ["new", name, *NEW[2:]]
    if kind == "unknown":
        return [*NEW, draw(unknown_option), "x"]
    option, values = draw(
        st.sampled_from(
            [
                ("--users", bad_positive_int),
                ("--model", junk.filter(_not(_valid_model))),
                ("--region", bad_region),
                ("--standby-region", bad_region),
                ("--timezone", junk.filter(_not(_timezone))),
                ("--hosted-zone-id", junk.filter(lambda value: not value.startswith("Z") or " " in value)),
                ("--domain", junk.filter(lambda value: "." not in value)),
                ("--p99", st.one_of(st.floats(max_value=0, allow_nan=False).map(str), not_a_number)),
                ("--gpu", junk.filter(lambda value: "." not in value and not _known_gpu(value))),
                ("--tier", junk.filter(lambda value: value not in ("single-gpu", "multi-gpu", "enterprise"))),
                ("--platform", junk.filter(lambda value: value not in ("aws", "kubernetes", "host"))),
                ("--quantization", junk.filter(_not(_known_quantization))),
                ("--stacks-dir", st.just("a-file")),
            ]
        )
    )
    return spoil(NEW, option, draw(values))


@SETTINGS
@given(args=bad_new_args())
def test_new(workdir: Path, args: list[str]) -> None:
    one_line_usage_error(invoke(workdir, args))
    assert not (workdir / "stacks" / "Pulumi.acme.yaml").exists()


# --- commands that take a stack ----------------------------------------------------------------------------


@st.composite
def bad_stack_args(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(["validate", "plan", "render", "preflight"]))
    tail = ["--out", "out"] if command == "render" else []
    kind = draw(st.sampled_from(["not-a-name", "missing", "stacks-dir", "unknown"]))
    if kind == "not-a-name":
        stack = draw(junk.filter(lambda value: not STACK_NAME.match(value) and "/" not in value and "\\" not in value))
        stack = stack if not stack.endswith((".yaml", ".yml")) else stack + "x"
        return [command, stack, *tail]
    if kind == "missing":
        name = draw(
            st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True).filter(lambda n: n not in ("pilot", "cluster"))
        )
        return [command, name, *tail]
    if kind == "stacks-dir":
        return [command, "pilot", *tail, "--stacks-dir", "a-file"]
    return [command, "pilot", *tail, draw(unknown_option), "x"]


@SETTINGS
@given(args=bad_stack_args())
def test_stack_commands(workdir: Path, args: list[str]) -> None:
    one_line_usage_error(invoke(workdir, args))


def test_render_into_a_file_and_plan_into_a_directory(workdir: Path) -> None:
    one_line_usage_error(invoke(workdir, ["render", "pilot", "--out", "a-file"]))
    one_line_usage_error(invoke(workdir, ["render", "cluster", "--out", "a-file/below"]))
    one_line_usage_error(invoke(workdir, ["plan", "pilot", "--markdown", "stacks"]))
    assert (workdir / "a-file").read_text(encoding="utf-8") == "not a directory\n"


@SETTINGS
@given(path=st.sampled_from(["missing.json", "binary.json", "stacks", "a-file"]), first=st.booleans())
def test_diff(workdir: Path, path: str, first: bool) -> None:
    valid = workdir / "plan.json"
    if not valid.exists():
        result = invoke(workdir, ["plan", "cluster", "--json"])
        valid.write_text(result.stdout, encoding="utf-8")
    args = ["diff", path, "plan.json"] if first else ["diff", "plan.json", path]
    one_line_usage_error(invoke(workdir, args))


def test_deeply_nested_plan_file_is_one_line(workdir: Path) -> None:
    (workdir / "deep.json").write_text("[" * 100_000, encoding="utf-8")
    one_line_usage_error(invoke(workdir, ["diff", "deep.json", "deep.json"]))
