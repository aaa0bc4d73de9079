"""Benchmark the Ray backend: its per-step overhead against the local backend, and the throughput of 1, 2
and 3 trace teams on a simulated cluster (`ray.cluster_utils.Cluster`, one CPU per node).

The model is scripted (instant replies) and every step trains a random forest for a few seconds
(benchmarks/bench_traces.py's policy), so steps are bound by execution. The overhead is the ratio of
seconds per attempt, Ray (one trace, a local Ray) against local (one trace), measured in the same run.
Usage: OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_ray.py [--steps 4] [--trees 800] [--nodes 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_traces import policy, search_seconds  # noqa: E402

from gome.config import RunConfig  # noqa: E402
from gome.llm import ScriptedChatCompletionClient  # noqa: E402
from gome.runner import run  # noqa: E402
from gome.tasks import prepare_task  # noqa: E402


def timed(task: Path, runs: Path, steps: int, trees: int, traces: int, **backend: object) -> tuple[float, int]:
    import ray

    reply = policy(trees)
    client = ScriptedChatCompletionClient(lambda messages: reply([str(m.content) for m in messages]))
    config = RunConfig(task_dir=task, runs_dir=runs, traces=traces, cpus=max(2, traces), threads=1, steps=steps,
                       final_top_k=1, final_seeds=0, blend_size=0, exec_timeout_s=300, **backend)  # type: ignore[arg-type]
    try:
        result = asyncio.run(run(config, client=client))
    finally:
        ray.shutdown()
    return search_seconds(result.run_dir)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--trees", type=int, default=800)
    parser.add_argument("--nodes", type=int, default=3)
    args = parser.parse_args()
    from ray.cluster_utils import Cluster

    os.environ["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        task = prepare_task("penguins", Path(tmp) / "penguins")
        local = timed(task, Path(tmp) / "local", args.steps, args.trees, 1)
        on_ray = timed(task, Path(tmp) / "ray", args.steps, args.trees, 1, backend="ray")
        rows += [("local, 1 trace", *local), ("Ray on 127.0.0.1, 1 trace", *on_ray)]
        temp = Path(tempfile.mkdtemp(prefix="gb", dir="/tmp"))  # short: Ray's socket paths must fit in 107 bytes
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "temp_dir": str(temp / "n0")})
        for k in range(1, args.nodes):
            cluster.add_node(num_cpus=1, temp_dir=str(temp / f"n{k}"))
        try:
            for traces in range(1, args.nodes + 1):
                found = timed(task, Path(tmp) / f"cluster{traces}", args.steps, args.trees, traces, backend="ray",
                              ray_address=cluster.address)
                rows.append((f"cluster of {args.nodes} one-CPU nodes, {traces} trace{'s' * (traces > 1)}", *found))
        finally:
            cluster.shutdown()
            shutil.rmtree(temp, ignore_errors=True)
    out = sys.stdout
    out.write(f"{os.cpu_count()} CPUs; load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}\n\n")
    out.write("| backend | attempts | search wall time (s) | s per attempt | attempts/s |\n|---|---|---|---|---|\n")
    for name, secs, n in rows:
        out.write(f"| {name} | {n} | {secs:.1f} | {secs / n:.2f} | {n / secs:.3f} |\n")
    per = {name: secs / n for name, secs, n in rows}
    out.write(f"\nRay overhead per step (1 trace, s per attempt, Ray / local): "
              f"{per['Ray on 127.0.0.1, 1 trace'] / per['local, 1 trace']:.2f}\n")
    rates = [n / secs for name, secs, n in rows if name.startswith("cluster")]
    out.write("cluster throughput against 1 trace: " + ", ".join(f"{k + 1} traces {r / rates[0]:.2f}x"
                                                             for k, r in enumerate(rates)) + "\n")


if __name__ == "__main__":
    main()
