"""Role prompts: packaged files, strict templates, snapshot of the rendered defaults, overrides."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gome.roles import ROLE_VARIABLES, RoleError, load_role, load_roles

SNAPSHOTS = Path(__file__).parent / "snapshots"
VALUES = {
    "diagnostician": dict(task="TASK", libraries="pandas 2.2", metric="accuracy", direction="higher", attempt="0-002", kind="improve", built="BUILT",
                          report="REPORT", evidence="EVIDENCE", code="CODE\n", plan="PLAN", parent="0-001",
                          parent_score=0.8, diff="DIFF", note="NOTE", best_score=0.9, history="HISTORY",
                          failures="FAILURES", moves="MOVES", schema="SCHEMA"),
    "memory_keeper": dict(task="TASK", diagnosis="DIAGNOSIS", memories="MEMORIES", failures="FAILURES",
                          step_size="moderate", schema="SCHEMA"),
    "coder": dict(task="TASK", libraries="LIBS", timeout_min=10, threads=1, mode="improve", code="CODE",
                  plan="PLAN", diagnosis="DIAGNOSIS", output="OUTPUT", rejected="REJECTED", error="", others="",
                  starter="", functions="", step_size="targeted", budget=20, ensemble=""),
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
    ensemble = coder.render(**{**VALUES["coder"], "mode": "draft", "others": "- 0-003: forest", "ensemble": "ENSEMBLE"})[1]
    assert "ENSEMBLE\nAlready tried:\n- 0-003: forest" in ensemble and "Other traces" not in ensemble
    for mode in ("improve", "debug"):
        user = coder.render(**{**VALUES["coder"], "mode": mode, "functions": "make_model, features"})[1]
        assert "only the functions you change (of make_model, features)" in user
    improve = {**VALUES["coder"], "mode": "improve", "functions": "make_model, features"}
    assert "Reply with only the functions you change" in coder.render(**improve)[1]  # a small step: no script copied
    assert "You may reply with only" in coder.render(**{**improve, "step_size": "rewrite", "budget": None})[1]


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


def test_role_files_declare_their_variables_and_reply_caps(tmp_path: Path) -> None:
    roles = load_roles()
    assert {name: role.max_tokens for name, role in roles.items()} == {"diagnostician": 800, "memory_keeper": 600, "coder": 4096}
    assert "evidence" in ROLE_VARIABLES["diagnostician"] and "failures" in ROLE_VARIABLES["memory_keeper"]
    (tmp_path / "memory_keeper.md").write_text("---\nmax_tokens: 300\n---\nPlan {{ diagnosis }}\n<!-- user -->\n{{ failures }}\n")
    assert load_roles(tmp_path)["memory_keeper"].max_tokens == 300  # variables inherited from the packaged file
    (tmp_path / "memory_keeper.md").write_text("---\nvariables: [diagnosis, mood]\n---\n{{ mood }}\n<!-- user -->\n")
    with pytest.raises(RoleError, match=r"declares variable\(s\) mood"):
        load_roles(tmp_path)


def test_messages_are_role_data_and_can_be_swapped(tmp_path: Path) -> None:
    from gome.roles import load_messages

    default = load_messages()
    assert "not usable: bad JSON" in default.render("repair", error="bad JSON")
    assert len(default.items("fallback_directions")) >= 3
    (tmp_path / "messages.yaml").write_text('repair: "Again, please ({{ error }})."\n')
    swapped = load_messages(tmp_path)
    assert swapped.render("repair", error="x") == "Again, please (x)."
    assert swapped.render("debug_again", round=2) == default.render("debug_again", round=2)  # the rest stays
    (tmp_path / "messages.yaml").write_text('repair: "{{ reason }}"\n')
    with pytest.raises(RoleError, match=r"unknown variable\(s\) reason"):
        load_roles(tmp_path)
    (tmp_path / "messages.yaml").write_text('repare: "x"\n')
    with pytest.raises(RoleError, match="unknown message"):
        load_roles(tmp_path)
