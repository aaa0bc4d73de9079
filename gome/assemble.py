"""One trace team's parts, assembled the same way for the local and the Ray backend: its optimiser
state, its model client (replayed, or retrying and recorded), its link to the Coordinator and the
context its four agents share, with every hook given at construction."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from autogen_core.models import ChatCompletionClient

from gome.agents import TraceContext
from gome.config import RunConfig
from gome.llm.delegate import SeededClient
from gome.llm.record import RecordingClient, ReplayClient
from gome.llm.retry import CURRENT_AGENT, RetryingClient
from gome.llm.stream import Progress, ProgressClient
from gome.optim import Memory, Strategy, TraceState
from gome.roles import load_messages, load_roles
from gome.sandbox import SandboxLimits
from gome.schema import Event, LLMCall, LLMProgress
from gome.tasks import DevSplit, Task, score_dev, task_description, task_summary
from gome.tasks.evidence import submission_evidence
from gome.tasks.starter import starter_script
from gome.tools.env_info import library_versions
from gome.tools.folds import Folds
from gome.tools.harness import self_reported
from gome.tools.rundir import RunDir
from gome.trace import CoordinatorHandle, TraceLink

__all__ = ["build_trace", "limits_of", "task_brief"]


def limits_of(config: RunConfig) -> SandboxLimits:
    return SandboxLimits(timeout_s=config.exec_timeout_s, memory_mb=config.memory_mb, threads=config.exec_threads,
                         gpus=config.gpus_per_trace > 0)


def task_brief(task: Task, description_tokens: int) -> str:
    """What every role reads first: the data summary, then the task's own description."""
    description = task_description(task, description_tokens) if description_tokens else ""
    return task_summary(task) + (f"\n\n# Description\n{description}" if description else "")


def _state(config: RunConfig, task: Task, trace: int) -> TraceState:
    strategy = Strategy(config.strategy, seed=config.seed, num_drafts=config.num_drafts, debug_prob=config.debug_prob)
    return TraceState(trace=trace, lower_is_better=task.lower_is_better, max_steps=config.steps,
                      max_debug_rounds=config.max_debug_rounds, max_redo_rounds=config.noop_redos, memory=Memory(config.memory_half_life),
                      use_memory=config.memory and config.strategy != "tree", strategy=strategy, accept_z=config.accept_z,
                      references=dict(task.reference_scores),
                      mode="explore" if config.strategy == "tree" else "directed")


def _client(config: RunConfig, client: ChatCompletionClient | None, rundir: RunDir, state: TraceState,
            emit: Callable[[Event], None]) -> ChatCompletionClient:
    """The model client of one trace: replayed, or retrying transient failures visibly (and recorded)."""
    if config.replay_from is not None:
        return ReplayClient(config.replay_from / "llm_calls.jsonl", state.trace)
    if client is None:
        raise ValueError("a trace needs a model client unless it replays a recorded run")

    def failed(error: str, latency: float) -> None:
        emit(LLMCall(trace=state.trace, step=state.step, agent=CURRENT_AGENT.get() or "unknown", prompt_tokens=0,
                     completion_tokens=0, latency_s=round(latency, 3), ok=False, error=error))

    def progress(p: Progress) -> None:
        emit(LLMProgress(trace=state.trace, step=state.step, agent=CURRENT_AGENT.get() or "unknown", tokens=p.tokens,
                         tokens_per_s=round(p.tokens_per_s, 1), elapsed_s=round(p.elapsed_s, 1)))

    if config.model.seeded:  # the n-th call of trace k in a run with seed s samples with seed s * 10^6 + k * 10^4 + n
        client = SeededClient(client, config.seed * 1_000_000 + state.trace * 10_000)
    client = RetryingClient(ProgressClient(client, progress), config.model.max_retries, config.model.retry_backoff_s,
                            failed)
    return RecordingClient(client, rundir.root / "llm_calls.jsonl", state.trace) if config.record_llm else client


def build_trace(config: RunConfig, task: Task, trace: int, rundir: RunDir, split: DevSplit | None,
                client: ChatCompletionClient | None, emit: Callable[[Event], None],
                handle: CoordinatorHandle | None = None, exec_slots: asyncio.Semaphore | None = None,
                time_share: Callable[[], float] | None = None,
                folds: Sequence[DevSplit] = ()) -> tuple[TraceContext, TraceLink | None]:
    """The context of one trace team and its link to the Coordinator (none without a `handle`). Without a
    dev split (a self-reported task) the scripts see the public folder and the score is the one they print."""
    state = _state(config, task, trace)
    link = TraceLink(state, rundir, emit, handle, config.sync_margin, config.sync_patience) if handle else None
    evidence = (lambda sub, refs, stdout, parent, best: submission_evidence(task, split, sub, refs, stdout, parent, best)
                ) if split else None
    ctx = TraceContext(
        state=state, task_brief=task_brief(task, config.description_tokens), metric=task.metric,
        client=_client(config, client, rundir, state, emit), roles=load_roles(config.roles_dir),
        messages=load_messages(config.roles_dir), rundir=rundir, input_dir=split.input_dir if split else task.public_dir,
        scorer=(lambda path: score_dev(task, split, path)) if split else self_reported, limits=limits_of(config),
        emit=emit, libraries=library_versions(), structured=config.model.structured,
        stop_sequences=config.model.stop_sequences, tries=config.tries,
        max_tokens=config.model.max_tokens, evidence=evidence, diagnose=config.diagnosis, offer_moves=config.moves,
        starter=starter_script(task) if config.starter else "",
        after_step=link.on_step if link else None, others=link.others_drafts if link else None,
        exec_slots=exec_slots, ensemble_after=config.ensemble_after if config.blend_size > 1 and split else 1.0,
        time_share=time_share, prompt_budgets=config.prompt_budgets,
        folds=Folds(task, list(folds), rundir.root / "traces" / str(trace) / "folds", limits_of(config), config.confirm_time_s,
                    max(1, config.cpus // config.exec_threads), config.confirm_z) if folds else None,
    )
    state.ensembling = ctx.ensemble_stage
    return ctx, link
