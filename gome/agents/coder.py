"""The Coder: applies the update plan to the best script, drafts a first one, or debugs a crash.

It reads the diagnosis and the plan from the team chat, bounds its reply by the plan's step size,
and hands the Executor a `CodeUpdate` that carries the plan and the attempt it was diagnosed from.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

from autogen_agentchat.messages import BaseChatMessage
from autogen_core.models import RequestUsage

from gome.agents.base import NO_USAGE, GomeAgent, latest
from gome.agents.context import TraceContext
from gome.agents.views import diagnosis_text, diff_text, plan_text
from gome.llm import StructuredOutputError, ask_code
from gome.optim import LINE_BUDGET, reply_cap, step_violation
from gome.schema import Attempt, AttemptKind, CodeUpdate, Diagnosis, Move, StepSize, UpdatePlan
from gome.tasks.metrics import get_metric
from gome.tasks.starter import keeps_placeholder, strip_placeholder
from gome.tools.estimators import calls_text, estimator_calls, other_values
from gome.tools.hints import add_missing_imports, find_module_of, fix_imports
from gome.tools.moves import apply_move, carried_out, carries_all
from gome.tools.patch import (
    merge_functions, same_harness, strip_echo, summarize_code, syntax_error, tail_stop, top_level_functions,
)

__all__ = ["Coder"]


class Coder(GomeAgent):
    output_type = CodeUpdate

    def __init__(self, ctx: TraceContext) -> None:
        super().__init__("coder", "Writes the new script: applies the update.", ctx)

    def _mode(self) -> tuple[AttemptKind, Attempt | None]:
        """(kind, parent attempt) of the next attempt."""
        state = self.ctx.state
        if state.mode == "explore":
            kind, parent_id = state.explore_pick()
            return kind, state.attempt(parent_id)
        if state.needs_debug():
            return "debug", state.last
        if state.needs_redo() and state.last is not None:
            return "improve", state.attempt(state.last.parent_id) or state.best
        if state.best is None or self.ctx.ensemble_phase():
            return "draft", None
        return "improve", state.best

    async def _others(self) -> str:
        """What earlier drafts (other traces', this trace's) and the best script used, so that this draft tries another."""
        lines = [await self.ctx.others()] if self.ctx.others else []
        state = self.ctx.state
        mine = {a.id: a for a in [*state.journal.drafts(), *([state.best] if state.best is not None else [])]}
        lines += [f"- {a.id}: {summarize_code(a.code)} (score {a.score})" for a in mine.values()]
        return "\n".join(line for line in lines if line)

    def _ensemble(self) -> str:
        """The ensemble stage's brief, proposing a model family that no script of this trace has used."""
        ctx, best = self.ctx, self.ctx.state.best
        if best is None or not ctx.ensemble_phase():
            return ""
        kind = "regressors" if get_metric(ctx.metric).kind == "regression" else "classifiers"
        families = ctx.messages.items(f"ensemble_{kind}")
        used = "\n".join(a.code for a in [*ctx.state.journal, best])
        model = next((f for f in families if not re.search(rf"\b{re.escape(f)}\b", used)), families[0])
        return ctx.messages.render("ensemble_draft", best=best.id, score=best.score, model=model,
                                   module=find_module_of(model, "sklearn") or "sklearn")

    def _rejected(self, best: Attempt) -> str:
        """What the diagnosed attempt changed, when it was not accepted and the plan goes onto the best script;
        for a redo, that it changed nothing, the models it built and the arguments that restate defaults."""
        ctx, last = self.ctx, self.ctx.state.last
        if last is None or last.id == best.id or not last.code:
            return ""
        diff = diff_text(best.code, last.code, limit=1500)
        if not ctx.state.needs_redo():
            return ctx.messages.render("rejected_change", attempt=last.id, outcome=last.outcome or last.status, diff=diff)
        calls = estimator_calls(last.code)
        same = last.report.evidence.identical_to if last.report and last.report.evidence else None
        return ctx.messages.render(
            "noop_redo", attempt=last.id, other=same or best.id, calls=calls_text(last.code) or "no model gome can read",
            defaults=", ".join(f"{c.name}({k}={v!r})" for c in calls for k, v in c.defaults),
            values=", ".join(v for c in calls for v in other_values(c)), diff=diff)

    async def _values(self, kind: AttemptKind, parent: Attempt | None, plan: UpdatePlan | None,
                      diagnosis: Diagnosis | None, size: StepSize) -> dict[str, object]:
        ctx, state = self.ctx, self.ctx.state
        report = parent.report if parent else None
        error = f"{report.error}\n{report.stderr_tail[-1500:]}" if report and kind == "debug" else ""
        if kind == "debug" and state.debug_round and state.mode == "directed":
            error += "\n" + ctx.messages.render("debug_again", round=state.debug_round + 1)
        if state.mode == "explore":
            plan_line = ctx.messages.render("tree_feedback", score=report.score, output=report.stdout_tail[-600:]) if report else ""
        else:
            plan_line = plan_text(plan)
        improve = kind == "improve" and parent is not None
        return dict(
            task=ctx.task_brief, libraries=ctx.libraries, timeout_min=max(1, int(ctx.limits.timeout_s // 60)),
            threads=ctx.limits.threads, mode=kind, code=parent.code if parent else "", error=error, plan=plan_line,
            diagnosis=diagnosis_text(diagnosis) if state.mode == "directed" else "",
            output=report.stdout_tail[-600:] if improve and report else "",
            rejected=self._rejected(parent) if improve and state.mode == "directed" else "",  # type: ignore[arg-type]
            others=await self._others() if kind == "draft" else "", starter=ctx.starter,
            functions=", ".join(top_level_functions(parent.code if parent else "")),
            step_size=size.value, budget=LINE_BUDGET[size] if improve else None,
            ensemble=self._ensemble() if kind == "draft" else "",
        )

    def _plan(self, kind: AttemptKind, parent: Attempt | None,
              messages: Sequence[BaseChatMessage]) -> tuple[UpdatePlan | None, str]:
        """The plan this attempt carries out and the attempt whose diagnosis led to it: a debug round
        carries on the crashed attempt's; a directed step takes the Memory Keeper's; explore has none."""
        state = self.ctx.state
        if kind == "debug":
            return (parent.plan, parent.cause) if parent else (None, "")
        if kind == "draft" and state.best is not None:  # an ensemble-stage draft carries out no plan
            return None, ""
        if state.needs_redo() and state.last is not None:  # a redo carries on the no-op's plan, with a move of its own
            return self._redo_plan(state.last.plan, state.last.cause), state.last.cause
        plan = latest(messages, UpdatePlan) if state.mode == "directed" else None
        return plan, state.last.id if plan is not None and state.last else ""

    def _redo_plan(self, plan: UpdatePlan | None, cause: str) -> UpdatePlan | None:
        """The plan a no-op left undone, carried by the first move offered that it did not already carry (in the
        way the diagnosis that led to it moves the capacity): the Coder could not turn it into a change of the
        predictions, so it gets an exact edit."""
        diagnosed = self.ctx.state.attempt(cause)
        capacity = diagnosed.diagnosis.capacity if diagnosed is not None and diagnosed.diagnosis is not None else "unclear"
        moves = [m for m in self.ctx.moves(capacity) if plan is None or plan.move is None or m.key != plan.move.key]
        if plan is None or not moves:
            return plan
        return plan.carrying(moves[0])

    def _finish(self, base: str, reply: str, *, only: bool, into: str, move: Move | None, prompt: str) -> tuple[str, list[str]]:
        """The script a reply makes: cut off the prompt text copied after it, merged into its base, the plan's move
        made where the reply did not make it, with deterministic fixes of the commonest small-model slips."""
        reply, cut = strip_echo(reply, prompt)
        code, notes = merge_functions(base, reply, only_functions=only, into=into)
        notes = [self.ctx.messages.render("echo_cut", lines=cut)] * bool(cut) + notes
        code, fixed = fix_imports(strip_placeholder(code))
        code, added = add_missing_imports(code)
        if move is not None and not carried_out(code, move):
            made = apply_move(code, move) or apply_move(base, move)
            if made is not None:
                code, more = add_missing_imports(made)
                notes += [self.ctx.messages.render("move_made", edit=move.edit), *more]
        return code, notes + fixed + added

    def _direct(self, base: str, move: Move, note: str = "move_direct") -> tuple[str, list[str]] | None:
        """The script a move makes by itself: an exact edit needs no model call. None where the edit cannot be
        made on the base, or makes a script that already ran: the Coder writes it then."""
        made = apply_move(base, move)
        if made is None:
            return None
        code, added = add_missing_imports(made)
        if not carried_out(code, move) or self.ctx.state.journal.same_code(code) is not None:
            return None
        return code, [self.ctx.messages.render(note, edit=move.edit), *added]

    def _explore_move(self, kind: AttemptKind, parent: Attempt | None, why: str) -> tuple[str, list[str]] | None:
        """Where an exploratory step's reply changed nothing or was unusable: for an improve step, a move offered for
        its node, picked at random (tree search has scalar feedback only, no diagnosis to order the moves by); for a
        draft, the starter with a model family no script built (the Coder's drafts kept repeating the first: one in
        three drafts of stop 20 to 22's tree and hybrid cells); made without a model call."""
        state, messages = self.ctx.state, self.ctx.messages
        if state.mode != "explore":
            return None
        if kind == "draft" and (move := self.ctx.starter_move()) and (made := self._direct(self.ctx.starter, move)):
            return made[0], [messages.render("explore_draft", edit=move.edit, why=why), *made[1][1:]]
        if kind != "improve" or parent is None:
            return None
        moves = self.ctx.moves(code=parent.code)
        state.strategy.rng(state.trace, state.step).shuffle(moves)
        for move in moves:
            if made := self._direct(parent.code, move):
                return made[0], [messages.render("explore_move", edit=move.edit, why=why), *made[1][1:]]
        return None

    def _member(self, best: str) -> tuple[str, list[str]] | None:
        """The ensemble stage's draft, made without a model call: the best script with its model swapped for
        another family, a blend member that shares its features and makes other errors."""
        move = self.ctx.member()
        return self._direct(best, move, note="ensemble_member") if move is not None else None

    def _check(self, finish: Callable[[str], tuple[str, list[str]]]) -> Callable[[str], str]:
        """A check of the Coder's reply, once per step: a script that does not parse (it would crash unrun), one
        that already ran (it would change nothing), or one whose make_model() still returns the starter's
        placeholder goes back to the Coder; a second time it runs as it is."""
        asked: list[str] = []

        def check(reply: str) -> str:
            if asked:
                return ""
            code, messages = finish(reply)[0], self.ctx.messages
            same = self.ctx.state.journal.same_code(code)
            if broken := syntax_error(code):
                fault = messages.render("unparsable_reply", error=broken)
            elif same is not None:
                fault = messages.render("identical_reply", other=same.id, outcome=same.outcome or same.status, score=same.score)
            elif keeps_placeholder(code):
                fault = messages.render("placeholder_kept")
            else:
                return ""
            asked.append(reply)
            return fault

        return check

    async def respond(self, messages: Sequence[BaseChatMessage]) -> tuple[CodeUpdate, RequestUsage]:
        ctx, state = self.ctx, self.ctx.state
        kind, parent = self._mode()
        plan, cause = self._plan(kind, parent, messages)
        size = plan.step_size if plan else state.step_size
        base = parent.code if parent else (ctx.starter if kind == "draft" else "")  # what a partial reply is merged into
        attempt_id = f"{state.trace}-{state.step + 1:03d}"
        fields = dict(attempt_id=attempt_id, parent_id=parent.id if parent else None, kind=kind, mode=state.mode,
                      plan=plan, cause=cause)
        if kind == "draft" and state.best is not None and ctx.ensemble_phase() and (made := self._member(state.best.code)):
            return CodeUpdate(**fields, code=made[0], note="; ".join(made[1])), NO_USAGE  # type: ignore[arg-type]
        if kind == "draft" and ctx.drafts_crashed():
            move = ctx.starter_move()  # the Coder's draft failed and nothing has run yet: gome drafts from the starter
            if move is not None and (made := self._direct(ctx.starter, move, note="starter_draft")):
                return CodeUpdate(**fields, code=made[0], note="; ".join(made[1])), NO_USAGE  # type: ignore[arg-type]
        move = plan.move if plan is not None and kind == "improve" else None
        # a plan that asks for nothing but the move's change of the model is carried out by gome, without the Coder's model;
        # so is a text move (of the data, or of the predictions) alone, where the plan asks for a model change too (one
        # change per step: the Coder's own rewrite of features() broke it, diamonds-cut's hybrid cell at stop 22)
        carries = plan is not None and move is not None and carries_all(plan.direction, move)
        direct = self._direct(base, move, "move_direct" if carries else "move_first") if move and (carries or move.about) else None
        if direct is not None:
            return CodeUpdate(**fields, code=direct[0], note="; ".join(direct[1])), NO_USAGE  # type: ignore[arg-type]
        prompt = self.prompt("coder", **await self._values(kind, parent, plan, latest(messages, Diagnosis), size))
        # a draft from the starter, a small step, or the fix of a crash where the harness code is the starter's (so the
        # crash is in the functions) changes functions only: the script's harness code stays
        only = ((kind == "draft" and bool(ctx.starter)) or (kind == "improve" and size != StepSize.rewrite)
                or (kind == "debug" and bool(ctx.starter) and same_harness(base, ctx.starter)))
        finish = functools.partial(self._finish, base, only=only, into="starter script" if kind == "draft" else "parent script",
                                   move=move, prompt="\n".join(str(m.content) for m in prompt))
        try:
            answer = await ask_code(ctx.client, prompt, tries=ctx.tries, max_tokens=reply_cap(base, size, self.cap("coder")),
                                    on_call=self.record_call, repair=self.repair, check=self._check(finish),
                                    stop=tail_stop(base) if only and ctx.stop_sequences else "")
        except StructuredOutputError as exc:
            self.record_failure(exc.schema_name, exc.tries, exc.error)
            made = self._explore_move(kind, parent, "was unusable on every try")
            return CodeUpdate(**fields, code=made[0] if made else "", note="; ".join(made[1]) if made else exc.error), NO_USAGE  # type: ignore[arg-type]
        code, notes = finish(answer.value)
        usage = RequestUsage(prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens)
        if state.journal.same_code(code) is not None and (made := self._explore_move(kind, parent, "was a script that already ran, twice")):
            return CodeUpdate(**fields, code=made[0], note="; ".join(made[1])), usage  # type: ignore[arg-type]
        violation = step_violation(size, parent.code, code) if kind == "improve" and parent else None
        if violation:
            notes.append(ctx.messages.render("step_ignored", size=size.value, changed=violation[0], budget=violation[1]))
        update = CodeUpdate(**fields, code=code, note="; ".join(notes))  # type: ignore[arg-type]
        return update, usage
