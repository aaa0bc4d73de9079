"""The resolved configuration of a run, written to config.yaml."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gome.llm import ModelConfig
from gome.tools.accounting import Budget, Prices

__all__ = ["RunConfig"]


# The prompts' size per role, in tokens: enough for the task brief, the script and the newest history; the
# sections beyond that (older history, long output tails, context lines) cost more time than they help.
PROMPT_BUDGETS = {"diagnostician": 1800, "memory_keeper": 1200, "coder": 2400}


class RunConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    task_dir: Path
    runs_dir: Path = Path("runs")
    model: ModelConfig = Field(default_factory=ModelConfig)
    local_size: Literal["1.5b", "0.5b"] | None = None  # the embedded model served `model`, if it did
    steps: int = Field(default=6, ge=1, description="executed attempts per trace, debug rounds included")
    time_budget_s: float | None = Field(default=None, gt=0, description="wall-clock budget of the search")
    token_budget: int | None = Field(default=None, gt=0, description="prompt + completion tokens of the run")
    cost_budget: float | None = Field(default=None, gt=0, description="cost of the run, by the price table")
    prices: Prices = Field(default_factory=Prices)
    seed: int = 0
    holdout: float = Field(default=0.2, gt=0, lt=1)
    exec_timeout_s: float = Field(default=600.0, gt=0)
    memory_mb: int = Field(default=4096, ge=256)
    threads: int | None = Field(default=None, ge=1, description="threads per execution; default cpus // traces")
    traces: int = Field(default=1, ge=1, description="trace teams optimising in parallel")
    cpus: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, description="CPU budget of all executions")
    backend: Literal["local", "ray"] = "local"
    ray_address: str | None = None  # None: start a local Ray on 127.0.0.1
    gpus_per_trace: float = Field(default=0.0, ge=0, description="GPUs requested by each trace team on Ray")
    sync_margin: float = Field(default=0.0, ge=0, description="how far a trace may trail the global best ...")
    sync_patience: int = Field(default=3, ge=1, description="... for how many steps before it adopts it")
    final_top_k: int = Field(default=3, ge=1, description="candidates re-scored in the final selection")
    final_seeds: int = Field(default=2, ge=0, description="extra dev splits per candidate in the final selection: the "
                             "first extra folds (other seeds' splits for a time-ordered split)")
    blend_size: int = Field(default=6, ge=0, description="ensemble stage: the best valid attempts the blend may use "
                            "(0 or 1: no blend)")
    ensemble_after: float = Field(default=0.7, ge=0, le=1, description="share of the budget (steps or time) after "
                                  "which directed steps draft other kinds of model for the blend (1: never)")
    strategy: Literal["gradient", "tree", "hybrid"] = "gradient"
    num_drafts: int = Field(default=3, ge=1, description="tree search: drafts before improving (the hybrid explores from its directed draft)")
    debug_prob: float = Field(default=0.5, ge=0, le=1, description="tree search: chance to debug a buggy leaf")
    diagnosis: bool = True  # ablation switch: structured diagnosis
    memory: bool = True  # ablation switch: success memory
    starter: bool = True  # drafts start from the task's starter script (gome.tasks.starter)
    moves: bool = True  # ablation switch: exact edits of the model call offered and made (gome.tools.moves)
    max_debug_rounds: int = Field(default=2, ge=0)
    noop_redos: int = Field(default=1, ge=0, description="a directed update that changed nothing goes back to the "
                            "Coder this many times, told what its script built, before the Diagnostician sees it")
    tries: int = Field(default=3, ge=1, description="model tries per structured reply (1 + repairs)")
    memory_half_life: float = Field(default=30.0, gt=0)
    accept_z: float = Field(default=2.0, ge=0, description="an update is accepted when its gain exceeds this many "
                            "standard errors of the paired dev-split estimate (0: any improvement)")
    confirm_folds: int = Field(default=4, ge=0, description="a gain over the best that is positive but within the "
                               "noise is measured again on this many extra dev folds (disjoint held-out rows; as "
                               "many as fit beside the dev split, none for a time-ordered split) and pooled (0: never)")
    confirm_z: float = Field(default=4.0, ge=0, description="a gain over the best above the acceptance margin but under "
                             "this many standard errors of the dev split's paired estimate is measured again on the "
                             "extra dev folds too: one split's gain may belong to that split (no effect at or below "
                             "accept_z)")
    confirm_time_s: float = Field(default=300.0, ge=0, description="the fold runs of one close call may take this "
                                  "many seconds, estimated from the two scripts' run times: fewer folds, or none, for "
                                  "slow scripts")
    description_tokens: int = Field(default=1200, ge=0, description="how much of description.md the agents read")
    prompt_budgets: dict[str, int] = Field(
        default_factory=lambda: dict(PROMPT_BUDGETS),
        description="per role, the prompt tokens (estimated) above which its longest trimmable sections are cut")
    roles_dir: Path | None = None
    record_llm: bool = True  # keep every model reply in llm_calls.jsonl of the run folder
    replay_from: Path | None = None  # answer model calls from this earlier run folder's llm_calls.jsonl (offline)

    @property
    def exec_threads(self) -> int:
        return self.threads or max(1, self.cpus // self.traces)

    @property
    def budget(self) -> Budget:
        return Budget(tokens=self.token_budget, cost=self.cost_budget, wall_s=self.time_budget_s)
