"""`--plot FILE.svg`: offered load, replicas, GPU nodes and p99 against time, with the SLO line (matplotlib)."""

from __future__ import annotations

from pathlib import Path

from llmscale.simulate.run import Run


def plot_run(run: Run, path: Path) -> None:
    """Draw the run in three panels sharing the time axis (hours from Monday 00:00); raises OSError on write."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "llmscale-simulate"  # stable ids: the same run gives the same file
    matplotlib.rcParams["svg.fonttype"] = "none"
    from matplotlib import pyplot

    hours = [index / 60 for index in range(len(run.minutes))]
    offered = [m.counts.arrivals for m in run.minutes]
    served = [m.counts.served for m in run.minutes]
    failed = [m.counts.failed for m in run.minutes]
    p99 = [m.latency.percentile(0.99) for m in run.minutes]
    figure, (load_axis, capacity_axis, latency_axis) = pyplot.subplots(3, 1, figsize=(11, 8), sharex=True)
    try:
        load_axis.plot(hours, offered, lw=0.7, color="C0", label="offered (requests/min)")
        load_axis.plot(hours, served, lw=0.7, color="C2", label="served")
        load_axis.plot(hours, failed, lw=0.7, color="C3", label="rejected, timed out or cut")
        load_axis.set_ylabel("requests per minute")
        load_axis.legend(loc="upper right", fontsize=8)
        for work in run.workloads:
            series = [m.ready.get(work.key, 0) for m in run.minutes]
            if any(series):
                capacity_axis.step(hours, series, where="post", lw=0.9, label=f"{work.key} ready replicas")
        capacity_axis.step(hours, [m.gpus for m in run.minutes], where="post", color="black", lw=0.9, ls="--",
                           label="GPUs billed")  # fmt: skip
        capacity_axis.set_ylabel("replicas / GPUs")
        capacity_axis.legend(loc="upper right", fontsize=8)
        latency_axis.plot(hours, [v if v is not None else float("nan") for v in p99], lw=0.7, color="C1",
                          label="p99 per minute (s)")  # fmt: skip
        latency_axis.axhline(run.stack.slo.p99_seconds, color="C3", ls="--", label="p99 SLO")
        latency_axis.set_yscale("log")
        latency_axis.set_ylabel("seconds")
        latency_axis.set_xlabel("hours from Monday 00:00 (" + run.stack.schedule.timezone + ")")
        latency_axis.legend(loc="upper right", fontsize=8)
        if run.fail_minute is not None:
            for axis in (load_axis, capacity_axis, latency_axis):
                axis.axvline(run.fail_minute / 60, color="grey", lw=0.8, ls=":")
        for day in range(1, int(len(run.minutes) / 1440) + 1):
            for axis in (load_axis, capacity_axis, latency_axis):
                axis.axvline(day * 24, color="grey", lw=0.4)
        load_axis.set_title(f"llmscale simulate {run.stack.name}: {run.traffic_description}", fontsize=10)
        figure.tight_layout()
        figure.savefig(path, format="svg", metadata={"Date": None})
    finally:
        pyplot.close(figure)
