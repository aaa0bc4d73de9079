"""Device check: on a GPU machine, generated code that asks for CUDA gets the GPU inside gome's sandbox
(as `nobody`, in its network namespace) when the run requests GPUs, and does not see it otherwise.

Usage (on the GPU machine, from the repo root): python3 benchmarks/gpu_check.py OUT_DIR
Prints a table and writes OUT_DIR/gpu_check.json.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gome.config import RunConfig
from gome.events import read_events
from gome.llm import ScriptedChatCompletionClient
from gome.runner import run
from gome.sandbox import isolation_layers
from gome.schema import ExecutionDone
from gome.tasks import prepare_task

TORCH_SCRIPT = '''import time, numpy as np, pandas as pd, torch
device = "cuda" if torch.cuda.is_available() else "cpu"
print("device", device, torch.cuda.get_device_name(0) if device == "cuda" else "")
train, test = pd.read_csv("input/train.csv"), pd.read_csv("input/test.csv")
cols = [c for c in train.columns if c not in ("id", "species")]
both = pd.get_dummies(pd.concat([train[cols], test[cols]]), dummy_na=True).astype("float32").fillna(0)
both = (both - both.mean()) / (both.std() + 1e-6)
classes = sorted(train["species"].unique())
x = torch.tensor(both.values[: len(train)], device=device)
y = torch.tensor([classes.index(c) for c in train["species"]], device=device)
model = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 64), torch.nn.ReLU(), torch.nn.Linear(64, 3)).to(device)
opt = torch.optim.Adam(model.parameters(), lr=0.01)
start = time.time()
for _ in range(300):
    opt.zero_grad(); loss = torch.nn.functional.cross_entropy(model(x), y); loss.backward(); opt.step()
print("train seconds", round(time.time() - start, 3), "loss", float(loss))
pred = model(torch.tensor(both.values[len(train):], device=device)).argmax(1).cpu().numpy()
pd.DataFrame({"id": test["id"], "species": [classes[i] for i in pred]}).to_csv("submission.csv", index=False)
'''


def reply(texts: list[str]) -> str:
    if texts == ["Reply with OK."]:
        return "OK"
    if "You are the Coder" in texts[0]:
        return "```python\n" + TORCH_SCRIPT + "```"
    if "You are the Diagnostician" in texts[0]:
        return json.dumps({"summary": "ran", "direction": "train longer"})
    return json.dumps({"direction": "train longer", "step_size": "targeted"})


def one_run(task: Path, runs: Path, gpus: float) -> dict:
    client = ScriptedChatCompletionClient(lambda messages: reply([str(m.content) for m in messages]))
    config = RunConfig(task_dir=task, runs_dir=runs, steps=2, final_seeds=0, gpus_per_trace=gpus, exec_timeout_s=300)
    start = time.time()
    result = asyncio.run(run(config, client=client))
    execs = [e for e in read_events(result.run_dir / "events.jsonl") if isinstance(e, ExecutionDone)]
    return {"gpus_per_trace": gpus, "wall_s": round(time.time() - start, 1), "final_score": result.grade.score if result.grade else None,
            "statuses": [e.report.status for e in execs], "isolation": execs[0].isolation,
            "stdout": [e.report.stdout_tail.strip() for e in execs], "errors": [e.report.error for e in execs]}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        task = prepare_task("penguins", Path(tmp) / "penguins")
        rows = [one_run(task, Path(tmp) / f"runs{g}", g) for g in (1.0, 0.0)]
    report = {"gpu": smi, "isolation_layers": list(isolation_layers()), "python": sys.version.split()[0], "runs": rows}
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "gpu_check_out"))
