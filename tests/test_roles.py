"""Role prompts: packaged files, strict templates, snapshot of the rendered defaults, overrides."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gome.roles import ROLE_VARIABLES, RoleError, load_role, load_roles

SNAPSHOTS = Path(__file__).parent / "snapshots"
VALUES = {
    "diagnostician": dict(task="TASK", metric="accuracy", direction="higher", attempt="0-002", report="REPORT",
                          diff="DIFF", best_score=0.9, history="HISTORY", schema="SCHEMA"),
    "memory_keeper": dict(task="TASK", diagnosis="DIAGNOSIS", memories="MEMORIES", step_size="moderate", schema="SCHEMA"),
    "coder": dict(task="TASK", libraries="LIBS", timeout_min=10, threads=1, mode="improve", code="CODE",
                  plan="PLAN", error="", others="", starter="", functions=""),
}


@pytest.mark.parametrize("name", sorted(ROLE_VARIABLES))
def test_rendered_default_prompts_match_snapshots(name: str) -> None:
    system, user = load_roles()[name].render(**VALUES[name])
    text = f"{system}\n=====\n{user}\n"
    snapshot = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("GOME_UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(text)
    assert text == snapshot.read_text()


def test_every_coder_mode_renders() -> None:
    coder = load_role("coder")
    for mode, marker in (("draft", "first, simple"), ("improve", "Apply the plan"), ("debug", "Fix the error")):
        assert marker in coder.render(**{**VALUES["coder"], "mode": mode})[1]
    draft = coder.render(**{**VALUES["coder"], "mode": "draft", "starter": "STARTER\n"})[1]
    assert "# Starter script" in draft and "STARTER\n```" in draft
    assert "STARTER" not in coder.render(**{**VALUES["coder"], "mode": "improve", "starter": "STARTER\n"})[1]
    for mode in ("improve", "debug"):
        user = coder.render(**{**VALUES["coder"], "mode": mode, "functions": "make_model, features"})[1]
        assert "only the functions you change (of make_model, features)" in user


def test_override_replaces_one_role(tmp_path: Path) -> None:
    (tmp_path / "coder.md").write_text("Custom coder {{ threads }}\n<!-- user -->\n{{ task }}\n")
    roles = load_roles(tmp_path)
    assert roles["coder"].path == tmp_path / "coder.md"
    system, user = roles["coder"].render(**VALUES["coder"])
    assert system.endswith("\n\nCustom coder 1") and system.startswith("You are one of four agents") and user == "TASK"
    assert roles["diagnostician"].path.parent.name == "roles"


def test_unknown_variable_names_file_and_variable(tmp_path: Path) -> None:
    (tmp_path / "coder.md").write_text("{{ task }} {{ tusk }}\n<!-- user -->\nx\n")
    with pytest.raises(RoleError, match=r"coder\.md: unknown variable\(s\) tusk"):
        load_roles(tmp_path)


def test_malformed_role_files(tmp_path: Path) -> None:
    (tmp_path / "coder.md").write_text("no separator here")
    with pytest.raises(RoleError, match="separating"):
        load_roles(tmp_path)
    (tmp_path / "coder.md").write_text("{% if %}\n<!-- user -->\n")
    with pytest.raises(RoleError, match=r"coder\.md:1"):
        load_roles(tmp_path)
    with pytest.raises(RoleError, match="not found"):
        load_roles(tmp_path / "missing")


def test_every_role_starts_with_the_shared_preamble() -> None:
    roles = load_roles()
    systems = [roles[name].render(**VALUES[name])[0] for name in sorted(ROLE_VARIABLES)]
    head = systems[0][: systems[0].index("TASK") + 4]
    assert len(head) > 200 and all(s.startswith(head) for s in systems)  # a shared prefix for the KV cache


def test_preamble_override_is_checked(tmp_path: Path) -> None:
    (tmp_path / "preamble.md").write_text("Team {{ task }} {{ mood }}")
    with pytest.raises(RoleError, match=r"preamble\.md: unknown variable\(s\) mood"):
        load_roles(tmp_path)
