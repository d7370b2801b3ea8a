"""How fast `llmscale validate` refuses hostile stack files: alias bombs, deep nesting, files at the size bound.

A pull request's stack file is planned by CI, so a refusal has to be quick whatever the bytes. For each case this
prints the file size, the median in-process time of `load_stack` (read, parse, validate), the wall time of
`llmscale validate FILE` as a separate process (interpreter start and imports included), its exit code and the
line it printed. With --reference it also times what an unbounded reader does with the alias bomb (PyYAML's
safe_load, then the JSON encoding the plan hands to Pulumi), capped at the given number of seconds.

Usage: python benchmarks/hostile_stacks.py [--runs N] [--reference SECONDS]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from llmscale.config import ConfigError, load_stack
from llmscale.config.stack_yaml import MAX_BYTES
from llmscale.paths import PACKAGE_ROOT

BASE = (PACKAGE_ROOT / "stacks" / "Pulumi.multi-gpu.yaml").read_text(encoding="utf-8")


def alias_bomb(levels: int, width: int) -> str:
    """`width` ** `levels` values from a file of about 2 KB ("billion laughs")."""
    rows = [f"  other:l0: &l0 [{', '.join(['lol'] * width)}]"]
    rows += [f"  other:l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * width)}]" for n in range(1, levels)]
    return BASE + "\n".join(rows) + "\n"


def padded(filler: Callable[[int], str]) -> str:
    """The example stack plus one more llmscale key whose value fills the file to just under the size bound."""
    prefix = BASE + "  llmscale:filler: "
    return prefix + filler(MAX_BYTES - len(prefix.encode()) - 2) + "\n"


CASES: dict[str, Callable[[], str]] = {
    "valid example (multi-gpu)": lambda: BASE,
    "alias bomb 9^9": lambda: alias_bomb(9, 9),
    "alias bomb 2^60": lambda: alias_bomb(60, 2),
    "nested flow lists, 1 MiB": lambda: padded(lambda n: "[" * (n // 2) + "]" * (n // 2)),
    "nested block mappings": lambda: (
        BASE + "  other:deep:\n" + "".join(" " * (4 + 2 * d) + f"k{d}:\n" for d in range(300)) + " " * 604 + "x\n"
    ),
    "flat keys, 1 MiB": lambda: BASE + "".join(f"  other:k{n}: {n}\n" for n in range(MAX_BYTES // 24)),
    "one long scalar, 1 MiB": lambda: padded(lambda n: "eyJ." * (n // 4)),
    "base64-like scalar, 1 MiB": lambda: padded(lambda n: "aA1+" * (n // 4)),
    "deep JSON text in a structured key": lambda: BASE.replace(
        "  llmscale:gpu:", "  llmscale:autoscaling: '" + "[" * 300_000 + "]" * 300_000 + "'\n  llmscale:gpu:", 1
    ),
    "over the size bound": lambda: BASE + "#" * MAX_BYTES,
}


def in_process(path: Path, runs: int) -> tuple[float, str]:
    """Median seconds of `load_stack`, and its outcome (the first problem line, or `valid`)."""
    timings, outcome = [], "valid"
    for _ in range(runs):
        started = time.perf_counter()
        try:
            load_stack(str(path))
        except ConfigError as error:
            outcome = error.lines()[0]
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), outcome


def as_command(path: Path, runs: int) -> tuple[float, int]:
    """Median wall seconds and the exit code of `llmscale validate FILE`, each run in its own process."""
    executable = Path(sys.executable).with_name("llmscale")
    timings, code = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        code = subprocess.run([str(executable), "validate", str(path)], capture_output=True, check=False).returncode
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), code


def unbounded_reference(path: Path, cap: float) -> str:
    """What PyYAML's safe_load followed by the JSON encoding of the result does with the file, capped."""
    code = "import json, sys, yaml; json.dumps(yaml.safe_load(open(sys.argv[1], encoding='utf-8')))"
    started = time.perf_counter()
    try:
        subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, check=False, timeout=cap)
    except subprocess.TimeoutExpired:
        return f"still running after {cap:g} s (stopped)"
    return f"{time.perf_counter() - started:.2f} s"


def main() -> None:
    """Print one row per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per case, in-process and as a command (median)")
    parser.add_argument("--reference", type=float, default=0, help="also time an unbounded reader, capped (s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        subprocess.run([str(Path(sys.executable).with_name("llmscale")), "--version"], capture_output=True, check=True)
        print(f"`llmscale --version` (interpreter start and imports): {time.perf_counter() - started:.2f} s")
        print(f"{'case':36} {'bytes':>9} {'in-process':>11} {'command':>8} {'exit':>4}  first line")
        for name, make in CASES.items():
            path = Path(directory) / "Pulumi.hostile.yaml"
            path.write_text(make(), encoding="utf-8")
            seconds, outcome = in_process(path, args.runs)
            wall, code = as_command(path, args.runs)
            shown = outcome.removeprefix(str(path) + ": ")[:90]
            print(f"{name:36} {path.stat().st_size:>9} {seconds * 1000:>8.1f} ms {wall:>6.2f} s {code:>4}  {shown}")
            if args.reference and name.startswith("alias bomb"):
                print(f"{'':36} unbounded reader: {unbounded_reference(path, args.reference)}")


if __name__ == "__main__":
    main()
