"""The capacity planner's error on measured points it was not calibrated on (llmscale.sizing.measurements).

For each held-out point: the GPUs a fleet of 100 × its load needed (100 × its tensor parallelism), the GPUs
the planner asks for the same load and latency, and the error; then the largest error by basis against the
error band the planner states (`ERROR_BANDS`). Exit 1 when a point of a measured configuration is off by more
than ±25 % or outside its band. Usage: python benchmarks/sizing_accuracy.py
"""

from __future__ import annotations

import sys

from llmscale.sizing.accuracy import FLEET_MULTIPLE, TOLERANCE, held_out_checks
from llmscale.sizing.planner import ERROR_BANDS


def main() -> int:
    """Print one row per held-out point, then the worst error per basis; 1 when a bound is broken."""
    checks = held_out_checks()
    print(f"{'point':<78} {'measured':>8} {'planner':>8} {'error':>7}  basis")
    worst: dict[str, float] = {}
    ok = True
    for item in checks:
        p = item.point
        label = f"{p.model} {p.gpu} TP{p.tensor_parallel} {p.engine} {p.workload} C={p.concurrency}"[:78]
        error = item.error
        shown = "n/a" if error is None else f"{error:+.1%}"
        print(f"{label:<78} {item.measured_gpus:>8} {item.predicted_gpus or '-':>8} {shown:>7}  {item.basis}")
        if error is None:
            ok = False
            continue
        worst[item.basis] = max(worst.get(item.basis, 0.0), abs(error))
        if item.basis in ("measured", "calibration-file") and abs(error) > TOLERANCE:
            ok = False
    print(f"\n(measured GPUs = {FLEET_MULTIPLE} x the point's tensor parallelism; error = planner / measured - 1)")
    for basis, error in sorted(worst.items()):
        band = ERROR_BANDS.get(basis, 0.0)
        inside = error <= band
        ok &= inside
        print(f"worst error, {basis}: {error:.1%} (stated band ±{band:.0%}) {'OK' if inside else 'WIDER THAN STATED'}")
    mean = sum(abs(c.error) for c in checks if c.error is not None) / max(1, len(checks))
    print(f"mean absolute error over {len(checks)} held-out points: {mean:.1%}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
