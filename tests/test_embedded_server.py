"""Integration: the real embedded 0.5B model behind llama.cpp's server on 127.0.0.1 answers a
Diagnostician question with a Diagnosis that validates. Skipped only without the `local` extra."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from autogen_core.models import SystemMessage, UserMessage

from gome.llm import ask_code, ask_structured, make_client
from gome.llm.embedded import LocalExtraMissing, part_paths, require_llama_cpp
from gome.llm.local_server import embedded_server
from gome.llm.structured import schema_hint
from gome.roles import load_roles
from gome.schema import Diagnosis
from gome.tasks import prepare_task
CAP = load_roles(None)["diagnostician"].max_tokens  # the role file's reply cap

REPORT = """status: crashed
score: None
seconds: 1.9
error: exit code 1
stdout (tail):
(empty)
stderr (tail):
Traceback (most recent call last):
  File "solution.py", line 6, in <module>
    model = LogisticRegression(max_iter=1000).fit(X, train["species"])
ValueError: could not convert string to float: 'Biscoe'"""


def _extra_or_skip() -> None:
    try:
        require_llama_cpp()
        part_paths("0.5b")
    except LocalExtraMissing as exc:
        pytest.skip(f"the 'local' extra is not installed: {exc}")


@pytest.mark.slow
def test_real_local_model_gives_a_valid_diagnosis() -> None:
    _extra_or_skip()
    system, user = load_roles(None)["diagnostician"].render(
        task="Predict the species of penguins (Adelie, Chinstrap, Gentoo) from island, bill, flipper, mass and sex.",
        libraries="pandas 2.2, scikit-learn 1.7", metric="accuracy", direction="higher", attempt="0-001", kind="draft", built="", report=REPORT,
        evidence="(no valid submission, so nothing to measure)", code="import pandas as pd\n", plan="", parent="",
        parent_score="none", diff="", note="", history="0-001 draft crashed score=None crash", failures="(none yet)", moves="(none)",
        best_score="none yet", schema=schema_hint(Diagnosis))
    records = []
    with embedded_server("0.5b", threads=2, n_ctx=4096) as config:
        assert config.base_url.startswith("http://127.0.0.1:") and config.structured == "json_object_schema"
        answer = asyncio.run(ask_structured(
            make_client(config), [SystemMessage(content=system), UserMessage(content=user, source="team")], Diagnosis,
            mode=config.structured, max_tokens=CAP, on_call=records.append))
    assert isinstance(answer.value, Diagnosis) and answer.value.direction.strip()
    assert answer.tries <= 2 and answer.completion_tokens <= 2 * CAP
    assert records[-1].ok and records[-1].completion_tokens > 0


def test_the_embedded_server_samples_the_same_reply_for_the_same_seed() -> None:
    """The local endpoint is seeded (gome.llm.delegate.SeededClient): on a new server (as `gome bench` starts for
    each cell) the same prompt and seed give the same reply, so a benchmark's variants share their first draft."""
    _extra_or_skip()
    prompt = [UserMessage(content="Invent a name for a new machine-learning library. Reply with the name only.", source="user")]

    def replies(seeds: list[int]) -> list[str]:
        with embedded_server("0.5b", threads=2, n_ctx=2048) as config:
            assert config.seeded
            client = make_client(config)

            async def ask() -> list[str]:
                return [str((await client.create(prompt, extra_create_args={"seed": s, "temperature": 1.5, "max_tokens": 12})).content)
                        for s in seeds]

            return asyncio.run(ask())

    first, *others = replies([7, 8, 9, 10])
    assert replies([7]) == [first]
    assert len({first, *others}) >= 2  # it does sample: other seeds give other names


SCRIPT = '''import pandas as pd
from sklearn.ensemble import RandomForestClassifier

train = pd.read_csv("input/train.csv")
test = pd.read_csv("input/test.csv")
features = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
X = train[features].fillna(train[features].median())
model = RandomForestClassifier(n_estimators=200, random_state=0).fit(X, train["species"])
prediction = model.predict(test[features].fillna(train[features].median()))
pd.DataFrame({"id": test["id"], "species": prediction}).to_csv("submission.csv", index=False)
'''


@pytest.mark.slow
def test_gomes_server_drafts_by_prompt_lookup_and_reports_cached_tokens() -> None:
    """The embedded runtime (gome.llm.llama_server): a reply that copies its prompt is drafted from it,
    a second request reuses the kept prefix, a streamed reply ends with its usage, and a reply asked to stop
    before a line of the script ends there, its code block closed."""
    _extra_or_skip()
    import openai

    from gome.llm.stream import cached_tokens

    system = "You copy Python scripts exactly. Reply with one ```python code block and nothing else."
    user = f"Copy this script exactly:\n```python\n{SCRIPT}```"
    with embedded_server("0.5b", threads=2, n_ctx=4096) as config:
        raw = openai.OpenAI(base_url=config.base_url, api_key="not-needed")

        def usage(note: str):
            chunks = list(raw.chat.completions.create(
                model=config.model, max_tokens=400, temperature=0.0, stream=True, stream_options={"include_usage": True},
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user + note}]))
            return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks[-1].usage

        (text, first), (_, second) = usage(""), usage("\nThanks.")
        streamed = asyncio.run(make_client(config).create(
            [SystemMessage(content=system), UserMessage(content=user, source="u")], extra_create_args={"max_tokens": 400}))
        assert config.stop_sequences
        cut = asyncio.run(ask_code(make_client(config), [SystemMessage(content=system), UserMessage(content=user, source="u")],
                                   max_tokens=400, stop="\nprediction = model.predict(")).value
    assert first.completion_tokens_details.accepted_prediction_tokens > first.completion_tokens // 2  # copied text
    assert second.prompt_tokens_details.cached_tokens > first.prompt_tokens // 2  # all but the changed end
    assert "RandomForestClassifier(n_estimators=200" in text
    assert "RandomForestClassifier(n_estimators=200" in str(streamed.content)
    assert streamed.usage.completion_tokens > 50 and cached_tokens(streamed.usage) is not None
    assert "RandomForestClassifier(n_estimators=200" in cut and "predict" not in cut and "to_csv" not in cut
    ast.parse(cut)


@pytest.mark.slow
def test_gomes_server_keeps_a_structured_reply_inside_its_grammar() -> None:
    """The grammar is checked after sampling (gome.llm.llama_server.GrammarLast): a prompt that invites prose
    still gets a reply that the schema allows, at every token, because a refused draw is drawn again."""
    _extra_or_skip()
    import json

    import openai

    schema = {"type": "object", "properties": {"colour": {"type": "string", "enum": ["teal", "ochre"]},
                                               "count": {"type": "integer"},
                                               "words": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 2}},
              "required": ["colour", "count", "words"]}
    with embedded_server("0.5b", threads=2, n_ctx=2048) as config:
        raw = openai.OpenAI(base_url=config.base_url, api_key="not-needed")
        replies = [raw.chat.completions.create(
            model=config.model, max_tokens=120, temperature=t, seed=3, response_format={"type": "json_object", "schema": schema},  # type: ignore[call-overload]
            messages=[{"role": "user", "content": "Write a short poem about the sea, in English prose, with no JSON."}],
        ).choices[0].message.content for t in (0.0, 1.0)]
    for text in replies:
        value = json.loads(text or "")
        assert value["colour"] in ("teal", "ochre") and isinstance(value["count"], int)
        assert isinstance(value["words"], list) and len(value["words"]) <= 2 and all(len(w) <= 12 for w in value["words"])


def _servers(parent: int | None = None) -> set[int]:
    """The pids of the embedded llama.cpp servers running now (those `parent` started, if given: another gome run
    on the machine, a benchmark's, starts its own)."""
    found = set()
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if proc.name.isdigit() and b"gome.llm.llama_server" in (proc / "cmdline").read_bytes():
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent is None or ppid == parent:
                    found.add(int(proc.name))
    return found


@pytest.mark.slow
def test_a_run_stopped_by_sigterm_says_how_to_resume_and_stops_its_server(tmp_path: Path) -> None:
    """`kill` of a run on the embedded model: one line on how to go on, no traceback of the tasks the exit
    cancelled (a bench killed mid-diagnosis printed autogen's "task_done() called too many times"), and the
    server stopped with it."""
    _extra_or_skip()
    task = prepare_task("penguins", tmp_path / "penguins")
    out = tmp_path / "out.txt"
    with out.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "gome.cli", "run", str(task), "--local-size", "0.5b", "--steps", "3",
                                 "--runs-dir", str(tmp_path / "runs")], stdout=sink, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 600
        while "-> executor" not in out.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(1)  # until the first draft is written: the team is mid-conversation
        assert proc.poll() is None, out.read_text()
        started = _servers(parent=proc.pid)
        assert started, "the run started no embedded server"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    text = out.read_text()
    assert proc.returncode == 143 and "gome: stopped (SIGTERM); continue with `gome resume RUN_DIR`" in text, text
    assert "Traceback" not in text and "task_done" not in text, text
    assert started & _servers() == set()
