"""The capacity planner's error on measured points it was not calibrated on (llmscale.sizing.measurements).

Two sets: the held-out points (never used to calibrate: other versions and answer lengths of measured sweeps),
predicted as the planner predicts them; and every measured sweep the planner is calibrated on, predicted
without it by scaling the 2024 anchor suite (what `scaled` and `bandwidth-estimate` answers rest on). For each:
the GPUs a fleet of 100 x its load needed (100 x its tensor parallelism), the GPUs the planner needs for the
same requests/s at the same concurrency per replica, the error, and the measured speed over the model's; then
the spread by basis against the speed band the planner states (`SPEED_BANDS`). Exit 1 when a held-out point
is off by more than ±25 % or a speed ratio falls outside its band. Usage: python benchmarks/sizing_accuracy.py
"""

from __future__ import annotations

import sys

from llmscale.sizing.accuracy import FLEET_MULTIPLE, TOLERANCE, Check, held_out_checks, out_of_sweep_checks
from llmscale.sizing.planner import SPEED_BANDS


def table(title: str, checks: list[Check]) -> list[str]:
    """One row per point: measured and predicted GPUs, error, speed ratio, basis."""
    lines = [f"## {title}", f"{'point':<74} {'measured':>8} {'planner':>8} {'error':>7} {'speed':>6}  basis"]
    for item in checks:
        p = item.point
        label = f"{p.model} {p.gpu} TP{p.tensor_parallel} {p.engine} {p.workload} C={p.concurrency}"[:74]
        error = "n/a" if item.error is None else f"{item.error:+.1%}"
        ratio = "n/a" if item.speed_ratio is None else f"x{item.speed_ratio:.2f}"
        lines.append(
            f"{label:<74} {item.measured_gpus:>8} {item.predicted_gpus or '-':>8} {error:>7} {ratio:>6}  {item.basis}"
        )
    return lines


def main() -> int:
    """Print both tables, then the spread per basis against its band; 1 when a bound is broken."""
    held, swept = held_out_checks(), out_of_sweep_checks()
    print("\n".join(table("held-out points (never used to calibrate)", held)))
    print()
    print("\n".join(table("measured sweeps predicted without themselves (anchor scaling only)", swept)))
    print(
        f"\n(measured GPUs = {FLEET_MULTIPLE} x tensor parallelism; error = planner / measured - 1; speed = 1 + error)"
    )
    ok = all(c.error is not None and abs(c.error) <= TOLERANCE for c in held)
    spread: dict[str, list[float]] = {}
    for item in [*held, *swept]:
        if item.speed_ratio is None:
            ok = False
            continue
        spread.setdefault(item.basis, []).append(item.speed_ratio)
    for basis, ratios in sorted(spread.items()):
        slowest, fastest = SPEED_BANDS[basis]
        inside = slowest <= min(ratios) and max(ratios) <= fastest
        ok &= inside
        print(
            f"{basis}: measured speed x{min(ratios):.2f} to x{max(ratios):.2f} of the model's over {len(ratios)} "
            f"points (stated band x{slowest:g} to x{fastest:g}) {'OK' if inside else 'OUTSIDE THE STATED BAND'}"
        )
    errors = [abs(c.error) for c in held if c.error is not None]
    print(f"held-out: worst error {max(errors):.1%}, mean absolute error {sum(errors) / len(errors):.1%}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
