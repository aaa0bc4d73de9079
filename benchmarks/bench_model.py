"""Benchmark the embedded model per role: first-try validity, tokens/s, latency, cost of one step.

Each scenario is one optimisation step as a trace team takes it: the Diagnostician reads an
execution report, the Memory Keeper turns its diagnosis into a plan, the Coder writes the script
(debug mode after a crash, improve mode otherwise). Prompts are the packaged role prompts, rendered
with the agents' own helpers, on the bundled penguins task; requests go through `ask_structured` /
`ask_code` exactly as in a run. Prompt and generation speeds come from llama.cpp's timing lines.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_model.py --size 1.5b --scenarios 6
    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_model.py --size 1.5b --scenarios 3 --compare --json FILE
    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_model.py --record FILE --task hpc-jobs --steps 6
    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_model.py --replay FILE --compare --json FILE

The built-in scenarios are scripts shaped as a run's are: penguins' starter script with a model in
make_model(), crashed, scored or without a submission as they do when run (`tests/test_bench_model.py`
runs them); the Coder may reply with the functions it changes, within the step size's line budget, and an
improve reply, and a debug reply where the script's own code is the starter's, ends where that code begins
(`stop`), as in a run. `--flat` takes the flat 7-line scripts of stops 13 to 23 instead. `--record` runs gome itself (one trace, the current
runtime) on a bundled task and keeps every request its agents made, in order; `--replay` sends those
requests again, in the same order, so the prompts are a real run's (the starter's functions, the
harness's evidence, the Memory Keeper's memories) and so is the pattern of shared prefixes between
calls. A replayed step is a Diagnostician call and what follows it up to the Coder's reply (repairs
included); the draft and debug calls between steps are replayed but not timed. Replies are sampled
with a fixed seed, so both runtimes face the same requests and mostly write the same replies.

`--compare` runs the same scenarios twice in one run, on one server binary: first with the baseline
runtime (the stock llama-cpp-python server as gome ran it before: no speculative decoding, logits for
every prompt token, no streaming), then with the current one (`gome.llm.local_server.CURRENT`), and
writes `{"baseline": {"step_s", "first_reply_valid"}, "current": {...}}`: `step_s` is the median seconds
of one step's three calls, `first_reply_valid` the share of calls whose first reply was valid.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from autogen_core.models import AssistantMessage, CreateResult, LLMMessage, SystemMessage, UserMessage

from gome.agents.views import diagnosis_text, plan_text, report_text
from gome.llm import ModelConfig, StructuredOutputError, ask_code, ask_structured, make_client
from gome.llm.delegate import DelegatingClient
from gome.llm.local_server import BASELINE, CURRENT, LocalServer, Runtime, embedded_server
from gome.llm.retry import CURRENT_AGENT
from gome.llm.stream import cached_tokens
from gome.llm.structured import CallRecord, extract_code, parse_json_model, schema_hint
from gome.optim import LINE_BUDGET
from gome.roles import load_messages, load_roles
from gome.schema import Diagnosis, ExecutionReport, StepSize, UpdatePlan
from gome.tasks import load_task, prepare_task, task_summary
from gome.tasks.starter import split_starter_tail, starter_script
from gome.tools.patch import same_harness, tail_stop, top_level_functions
from gome.tools.env_info import library_versions

BASE = """import pandas as pd
from sklearn.linear_model import LogisticRegression
train = pd.read_csv("input/train.csv")
test = pd.read_csv("input/test.csv")
X = train.drop(columns=["id", "species"])
model = LogisticRegression(max_iter=1000).fit(X, train["species"])
pd.DataFrame({"id": test["id"], "species": model.predict(test.drop(columns=["id"]))}).to_csv("submission.csv", index=False)
"""
NUMERIC = BASE.replace('X = train.drop(columns=["id", "species"])',
                       'cols = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]\n'
                       'X = train[cols].fillna(train[cols].median())').replace('test.drop(columns=["id"])',
                                                                               'test[cols].fillna(train[cols].median())')
ONEHOT = NUMERIC.replace("from sklearn.linear_model", "from sklearn.preprocessing import OneHotEncoder\nfrom sklearn.linear_model")
ONEHOT = ONEHOT.replace("model = ", 'enc = OneHotEncoder(sparse=False).fit(train[["island", "sex"]])\nmodel = ')


def _report(status: str, score: float | None, stderr: str, error: str, stdout: str = "") -> ExecutionReport:
    return ExecutionReport(attempt_id="0-002", status=status, exit_code=0 if status == "ok" else 1, duration_s=2.1,
                           stdout_tail=stdout, stderr_tail=stderr, score=score, error=error)  # type: ignore[arg-type]


def _crash(error: str, *frames: str) -> ExecutionReport:
    """A crash's report: `frames` are "LINE in FUNCTION" as Python prints them for solution.py."""
    where = "".join(f'  File "solution.py", line {frame}\n' for frame in frames)
    return _report("crashed", None, f"Traceback (most recent call last):\n{where}{error}", "exit code 1")


def _scored(score: float, train: float) -> ExecutionReport:
    return _report("ok", score, "", "", f"validation_score: {score}\ntrain_score: {train}")


FLAT = [  # (name, script, report): flat 7-line scripts, the scenarios of stops 13 to 23
    ("string column", BASE, _crash("ValueError: could not convert string to float: 'Biscoe'", "6")),
    ("numeric baseline", NUMERIC, _report("ok", 0.9710, "", "", "validation accuracy 0.968")),
    ("sparse kwarg", ONEHOT, _crash("TypeError: OneHotEncoder.__init__() got an unexpected keyword argument 'sparse'", "7")),
    ("target in test", BASE.replace('drop(columns=["id"])', 'drop(columns=["id", "species"])'),
     _crash("KeyError: \"['species'] not found in axis\"", "7")),
    ("good model", NUMERIC.replace("LogisticRegression(max_iter=1000)", "LogisticRegression(C=10, max_iter=2000)"),
     _report("ok", 0.9855, "", "", "validation accuracy 0.981")),
    ("no submission", NUMERIC.replace('.to_csv("submission.csv", index=False)', ".head()"),
     _report("no_submission", None, "", "the script wrote no submission.csv")),
]


def _with_model(starter: str, model: str, imports: str) -> str:
    """The starter script with `model` as what make_model() returns (and `imports` after its own)."""
    head, _, rest = starter.partition("\n\n")
    script = re.sub(r"(def make_model\(\):\n    return ).*\n", lambda m: m.group(1) + model + "\n", f"{head}\n{imports}\n\n{rest}")
    assert model in script, "the starter has no make_model() to replace"
    return script


def scenarios(starter: str) -> list[tuple[str, str, ExecutionReport]]:
    """Steps on scripts shaped as a run's are today: the starter script (features(), make_model(), the
    validation split, the submission) with a model in make_model(); the Coder may reply with the functions
    it changes, within the step size's line budget, as it is asked in a run."""
    forest = _with_model(starter, "RandomForestClassifier(n_estimators=100, random_state=0)",
                         "from sklearn.ensemble import RandomForestClassifier")
    boosted = ("HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=0)",
               "from sklearn.ensemble import HistGradientBoostingClassifier")
    typo = forest.replace('    both = both.fillna(both.median()).fillna(0)\n',
                          '    both["bill_ratio"] = both["bill_length_mm"] / both["bill_depht_mm"]\n'
                          '    both = both.fillna(both.median()).fillna(0)\n')
    return [
        ("l1 penalty", _with_model(starter, 'LogisticRegression(penalty="l1", max_iter=1000)',
                                   "from sklearn.linear_model import LogisticRegression"),
         _crash("ValueError: Solver lbfgs supports only 'l2' or None penalties, got l1 penalty.", "37, in <module>")),
        ("forest baseline", forest, _scored(1.0, 1.0)),
        ("unknown argument", _with_model(starter, "HistGradientBoostingClassifier(max_iter=200, n_estimators=100)",
                                         boosted[1]),
         _crash("TypeError: HistGradientBoostingClassifier.__init__() got an unexpected keyword argument 'n_estimators'",
                "37, in <module>", "27, in make_model")),
        ("misspelt column", typo, _crash("KeyError: 'bill_depht_mm'", "35, in <module>", "22, in features")),
        ("boosted model", _with_model(starter, *boosted), _scored(1.0, 1.0)),
        ("no submission", forest.replace('submission.to_csv("submission.csv", index=False)', "submission.head()"),
         _report("no_submission", None, "", "the script wrote no submission.csv")),
    ]


@dataclass(frozen=True)
class Call:
    scenario: str
    role: str
    first_ok: bool
    ok: bool
    tries: int
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    prompt_tps: float | None
    gen_tps: float | None
    text: str = ""
    cached_tokens: int = 0


_PERF = re.compile(r"(prompt eval|\s eval) time =\s*([\d.]+) ms /\s*(\d+) (?:tokens|runs)")
_KEPT = re.compile(r"Llama.generate: (\d+) prefix-match hit")


def _speeds(log: Path, seen: int) -> tuple[float | None, float | None, int, int]:
    """Prompt and generation tokens/s of the newest request in llama.cpp's log (after byte `seen`), and
    the prompt tokens its requests reused from the kept prefix (both runtimes log them)."""
    text = log.read_text(errors="replace")
    found: dict[str, float] = {}
    for kind, ms, n in _PERF.findall(text[seen:]):
        if int(n) > 0 and float(ms) > 0:
            found["prompt" if kind.startswith("prompt") else "gen"] = int(n) / (float(ms) / 1000)
    kept = sum(int(n) for n in _KEPT.findall(text[seen:]))
    return found.get("prompt"), found.get("gen"), len(text), kept


class Bench:
    def __init__(self, config: ModelConfig, server: LocalServer, task_brief: str, starter: str = "",
                 stops: bool = True) -> None:
        self.client, self.server, self.brief, self.starter = make_client(config), server, task_brief, starter
        self.stops = stops  # the Coder's reply ends where the script's own code begins, where gome uses its functions
        self.roles, self.calls, self._seen = load_roles(None), [], 0
        self._records: list[CallRecord] = []

    def _record(self, scenario: str, role: str, tries: int, ok: bool, usage: tuple[int, int], start: float,
                text: str = "") -> None:
        latency = time.monotonic() - start
        log = self.server._log_path
        ptps, gtps, self._seen, kept = _speeds(log, self._seen) if log else (None, None, 0, 0)
        reported = [r.cached_tokens for r in self._records if r.cached_tokens is not None]
        self._records.clear()
        self.calls.append(Call(scenario, role, ok and tries == 1, ok, tries, usage[0], usage[1], round(latency, 2),
                               ptps and round(ptps, 1), gtps and round(gtps, 1), text[:3000],
                               sum(reported) if reported else kept))

    def _messages(self, role: str, **values: object) -> list:
        from autogen_core.models import SystemMessage, UserMessage

        system, user = self.roles[role].render(**values)
        return [SystemMessage(content=system), UserMessage(content=user, source="team")]

    async def _structured(self, name: str, role: str, cls: type, fallback: object, **values: object) -> object:
        start = time.monotonic()
        try:
            answer = await ask_structured(self.client, self._messages(role, **values), cls, mode="json_object_schema",
                                          max_tokens=self.roles[role].max_tokens, on_call=self._records.append)
        except StructuredOutputError as exc:
            self._record(name, role, exc.tries, False, (0, 0), start)
            return fallback
        self._record(name, role, answer.tries, True, (answer.prompt_tokens, answer.completion_tokens), start, answer.text)
        return answer.value

    def _shown(self, code: str) -> str:
        """The script as the Diagnostician reads it in a run: up to make_model() where the rest is the starter's."""
        head, cut = split_starter_tail(code, self.starter) if self.starter else (code, False)
        return f"{head.rstrip()}\n\n\n{load_messages().render('starter_tail')}\n" if cut else code

    async def step(self, name: str, code: str, report: ExecutionReport) -> None:
        diag = await self._structured(
            name, "diagnostician", Diagnosis, Diagnosis(summary="?", direction="fix the error"),
            task=self.brief, libraries=library_versions(), metric="accuracy", direction="higher", attempt=report.attempt_id,
            kind="improve", built="", report=report_text(report), evidence="- run time 1.0 s", code=self._shown(code), plan="", parent="",
            parent_score="none", diff="", note="", history="0-001 draft crashed score=None crash", failures="(none yet)",
            moves="(none)", best_score="none yet", schema=schema_hint(Diagnosis))
        plan = await self._structured(
            name, "memory_keeper", UpdatePlan, UpdatePlan(direction=diag.direction, step_size=StepSize("targeted")),
            task=self.brief, diagnosis=diag.model_dump_json(indent=1), memories="(empty: no successful update yet)",
            failures="(none yet)", step_size=StepSize.moderate.value, schema=schema_hint(UpdatePlan))
        mode = "improve" if report.status == "ok" else "debug"
        only = bool(self.starter) and (mode == "improve" or same_harness(code, self.starter))  # as gome.agents.coder
        size = StepSize.moderate
        start = time.monotonic()
        try:
            answer = await ask_code(self.client, self._messages(
                "coder", task=self.brief, libraries=library_versions(), timeout_min=10, threads=1, mode=mode, code=code,
                plan=plan_text(plan), diagnosis=diagnosis_text(diag), output="", rejected="",
                error=f"{report.error}\n{report.stderr_tail}", others="", starter=self.starter,
                functions=", ".join(top_level_functions(code)), step_size=size.value,
                budget=LINE_BUDGET[size] if mode == "improve" else None, ensemble=""), tries=3,
                on_call=self._records.append, stop=tail_stop(code) if only and self.stops else "")
            ast.parse(answer.value)
            self._record(name, "coder", answer.tries, True, (answer.prompt_tokens, answer.completion_tokens), start,
                         answer.value)
        except (StructuredOutputError, SyntaxError):
            self._record(name, "coder", 3, False, (0, 0), start)


_MESSAGES = {"SystemMessage": SystemMessage, "UserMessage": UserMessage, "AssistantMessage": AssistantMessage}
_PARSE: dict[str, type] = {"diagnostician": Diagnosis, "memory_keeper": UpdatePlan}


def _flag(json_output: object) -> bool | None:
    """A request's json_output as it can be stored: None (not set, which leaves response_format alone) or a
    bool (False asks autogen's OpenAI client for plain text, which drops the grammar)."""
    return json_output if json_output is None or isinstance(json_output, bool) else True


def replay_args(request: dict) -> dict:
    """The create() arguments of a recorded request: as recorded, with a fixed sampling seed."""
    return {"extra_create_args": {**request["extra_create_args"], "seed": 0}, "json_output": request["json_output"]}


class Capture(DelegatingClient):
    """Keeps every request of a real run, in order, with the agent that made it."""

    def __init__(self, inner: object) -> None:
        super().__init__(inner)  # type: ignore[arg-type]
        self.requests: list[dict] = []

    async def create(self, messages: Sequence[LLMMessage], **kwargs: object) -> CreateResult:
        assert self.inner is not None
        self.requests.append({"agent": CURRENT_AGENT.get() or "unknown",
                              "messages": [[type(m).__name__, m.content] for m in messages],
                              "extra_create_args": kwargs.get("extra_create_args") or {},
                              "json_output": _flag(kwargs.get("json_output"))})
        result = await self.inner.create(messages, **kwargs)  # type: ignore[arg-type]
        self._count(result.usage)
        return result


async def _record(args: argparse.Namespace) -> None:
    from gome.config import RunConfig
    from gome.runner import run

    with tempfile.TemporaryDirectory() as tmp, embedded_server(args.size, runtime=CURRENT) as model:
        task_dir = prepare_task(args.task, Path(tmp) / args.task)
        capture = Capture(make_client(model))
        config = RunConfig(task_dir=task_dir, runs_dir=Path(tmp) / "runs", model=model, local_size=args.size,
                           steps=args.steps, exec_timeout_s=300, record_llm=False)
        result = await run(config, client=capture)
        print(f"recorded {len(capture.requests)} requests of a {args.steps}-step run on {args.task} "
              f"({result.run_dir.name})", file=sys.stderr)
    Path(args.record).write_text(json.dumps({"task": args.task, "size": args.size, "steps": args.steps,
                                             "requests": capture.requests}, indent=1))


def _valid(agent: str, text: str) -> bool:
    """Whether a replayed reply would have been taken at the first try."""
    try:
        if agent in _PARSE:
            parse_json_model(text, _PARSE[agent])
        else:
            ast.parse(extract_code(text))
    except (ValueError, SyntaxError):
        return False
    return True


def _steps(requests: list[dict]) -> list[int | None]:
    """The timed step of each recorded request, or None: a Diagnostician call (not a repair) opens a step, the
    Memory Keeper's calls belong to it, and the Coder's improve reply closes it once its repairs are done. A
    step whose move gome made without the Coder ends at its last Memory Keeper call: a draft or debug call
    of the Coder after it is not part of the step."""
    marks: list[int | None] = []
    step, coding, open_ = -1, 0, False  # coding: the message count of the step's last Coder request (0: not coding yet)
    for request in requests:
        agent, n = request["agent"], len(request["messages"])
        improve = agent == "coder" and "Apply the plan to the script." in request["messages"][-1][1]
        if open_ and (coding and not (agent == "coder" and n > coding) or agent == "coder" and not coding and not improve):
            open_, coding = False, 0
        if agent == "diagnostician" and n <= 2:
            open_, coding, step = True, 0, step + 1
        if open_ and agent == "coder":
            coding = n
        marks.append(step if open_ else None)
    return marks


async def _replay_run(size: str, runtime: Runtime, requests: list[dict]) -> tuple[list[Call], float, int]:
    """Sends the recorded requests in order; each timed step is a Diagnostician call up to the Coder's reply."""
    server = embedded_server(size, runtime=runtime)
    start = time.monotonic()
    calls: list[Call] = []
    with server as config:
        startup = time.monotonic() - start
        client = make_client(config)
        seen = 0
        for request, step in zip(requests, _steps(requests)):
            agent = request["agent"]
            messages = [_MESSAGES[kind](content=content, source="bench") if kind != "SystemMessage"
                        else SystemMessage(content=content) for kind, content in request["messages"]]
            began = time.monotonic()
            result = await client.create(messages, **replay_args(request))
            latency = time.monotonic() - began
            log = server._log_path
            ptps, gtps, seen, kept = _speeds(log, seen) if log else (None, None, 0, 0)
            text = result.content if isinstance(result.content, str) else ""
            ok = _valid(agent, text)
            cached = cached_tokens(result.usage)
            if step is not None:
                calls.append(Call(f"step {step}", agent, ok, ok, 1, result.usage.prompt_tokens,
                                  result.usage.completion_tokens, round(latency, 2), ptps and round(ptps, 1),
                                  gtps and round(gtps, 1), text[:3000], cached if cached is not None else kept))
                print(f"  step {step} {agent}: {latency:.1f}s ok={ok}", file=sys.stderr)
        await client.close()
    return calls, startup, server.threads


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _table(calls: list[Call]) -> str:
    rows = ["| role | calls | first reply valid | valid after repair | prompt tok (median) | cached tok (median)"
            " | completion tok (median) | latency s (median / max) | prompt tok/s | gen tok/s |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for role in ("diagnostician", "memory_keeper", "coder"):
        mine = [c for c in calls if c.role == role]
        if not mine:
            continue
        lat = [c.latency_s for c in mine]
        rows.append(f"| {role} | {len(mine)} | {sum(c.first_ok for c in mine)}/{len(mine)} | {sum(c.ok for c in mine)}/{len(mine)}"
                    f" | {_median([c.prompt_tokens for c in mine]):.0f} | {_median([c.cached_tokens for c in mine]):.0f}"
                    f" | {_median([c.completion_tokens for c in mine]):.0f}"
                    f" | {_median(lat):.1f} / {max(lat):.1f} | {_median([c.prompt_tps for c in mine if c.prompt_tps]):.1f}"
                    f" | {_median([c.gen_tps for c in mine if c.gen_tps]):.1f} |")
    summary = _summary(calls)
    toks = sum(c.prompt_tokens + c.completion_tokens for c in calls) / max(1, len({c.scenario for c in calls}))
    rows.append(f"\nOne optimisation step (three model calls, execution excluded): median {summary['step_s']:.1f} s, "
                f"{toks:.0f} tokens on average; first reply valid in {summary['first_reply_valid']:.0%} of calls.")
    return "\n".join(rows)


def _summary(calls: list[Call]) -> dict[str, float]:
    steps: dict[str, float] = {}
    for c in calls:
        steps[c.scenario] = steps.get(c.scenario, 0.0) + c.latency_s
    return {"step_s": round(_median(list(steps.values())), 2),
            "first_reply_valid": round(sum(c.first_ok for c in calls) / max(1, len(calls)), 3)}


async def _run(size: str, runtime: Runtime, count: int, brief: str, starter: str,
               stops: bool = True) -> tuple[list[Call], float, int]:
    server = embedded_server(size, runtime=runtime)
    start = time.monotonic()
    with server as config:
        startup = time.monotonic() - start
        bench = Bench(config, server, brief, starter, stops)
        for i, (name, code, report) in enumerate(((scenarios(starter) if starter else FLAT) * 3)[:count]):
            await bench.step(f"{i}: {name}", code, report)
            print(f"  {name}: " + ", ".join(f"{c.role} {c.latency_s}s ok={c.ok}" for c in bench.calls[-3:]), file=sys.stderr)
    return bench.calls, startup, server.threads


async def _main(args: argparse.Namespace) -> None:
    if args.record:
        await _record(args)
        return
    requests = json.loads(Path(args.replay).read_text())["requests"] if args.replay else []
    with tempfile.TemporaryDirectory() as tmp:
        task = load_task(prepare_task("penguins", Path(tmp) / "penguins"))
        brief, starter = task_summary(task), "" if args.flat else starter_script(task)
    before = BASELINE if args.baseline == "issue14" else replace(CURRENT, grammar_last=False, flash_attn=False)
    runs = {"baseline": before, "current": CURRENT} if args.compare else {"current": CURRENT}
    results: dict[str, list[Call]] = {}
    for label, runtime in runs.items():
        print(f"{label}: {runtime}", file=sys.stderr)
        stops = not (label == "baseline" and args.baseline_without_stop)
        if requests:
            calls, startup, threads = await _replay_run(args.size, runtime, requests)
        else:
            calls, startup, threads = await _run(args.size, runtime, args.scenarios, brief, starter, stops)
        results[label] = calls
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        source = (f"the requests of {args.replay}" if requests
                  else f"{args.scenarios} built-in scenarios ({'flat scripts' if args.flat else 'starter-shaped scripts'}"
                  f"{'' if stops else ', no stop'})")
        print(f"## {label}: {runtime}\n\nmodel {args.size}, server start {startup:.1f} s, {source}, "
              f"{threads} threads, load average at the end {load} (1/5/15 min)\n")
        print(_table(calls) + "\n")
    if args.compare:
        base, cur = _summary(results["baseline"]), _summary(results["current"])
        print(f"current / baseline step time: {cur['step_s'] / base['step_s']:.2f}")
    if args.json:
        out = {label: _summary(calls) for label, calls in results.items()}
        out["calls"] = {label: [asdict(c) for c in calls] for label, calls in results.items()}  # type: ignore[assignment]
        Path(args.json).write_text(json.dumps(out, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1.5b", choices=["1.5b", "0.5b"])
    parser.add_argument("--scenarios", type=int, default=6, help="optimisation steps to time (scenarios repeat after 6)")
    parser.add_argument("--flat", action="store_true",
                        help="the flat 7-line scenarios of stops 13 to 23 instead of starter-shaped scripts")
    parser.add_argument("--compare", action="store_true", help="run the baseline runtime first, then the current one")
    parser.add_argument("--baseline", default="issue14", choices=["issue14", "stop18"],
                        help="--compare against: the runtime before issue 14 (stock server), or stop 18's (grammar over "
                             "the whole vocabulary, no flash attention)")
    parser.add_argument("--baseline-without-stop", action="store_true",
                        help="--compare: the baseline's Coder replies carry no `stop` (before stop 24 every reply ran on "
                             "to the end of the script) where the current one's do")
    parser.add_argument("--json", default="", help="write the summaries and every call to this JSON file")
    parser.add_argument("--record", default="", help="run gome on --task and write its requests to this file")
    parser.add_argument("--task", default="hpc-jobs", help="--record: the bundled task")
    parser.add_argument("--steps", type=int, default=6, help="--record: the run's steps")
    parser.add_argument("--replay", default="", help="time the requests of a --record file instead of the scenarios")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
