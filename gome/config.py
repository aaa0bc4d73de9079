"""The resolved configuration of a run, written to config.yaml."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gome.llm import ModelConfig

__all__ = ["RunConfig"]


class RunConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    task_dir: Path
    runs_dir: Path = Path("runs")
    model: ModelConfig = Field(default_factory=ModelConfig)
    steps: int = Field(default=6, ge=1, description="executed attempts per trace, debug rounds included")
    time_budget_s: float | None = Field(default=None, gt=0, description="wall-clock budget of the search")
    seed: int = 0
    holdout: float = Field(default=0.2, gt=0, lt=1)
    exec_timeout_s: float = Field(default=600.0, gt=0)
    memory_mb: int = Field(default=4096, ge=256)
    threads: int = Field(default=1, ge=1)
    max_debug_rounds: int = Field(default=2, ge=0)
    tries: int = Field(default=3, ge=1, description="model tries per structured reply (1 + repairs)")
    memory_half_life: float = Field(default=30.0, gt=0)
    roles_dir: Path | None = None
