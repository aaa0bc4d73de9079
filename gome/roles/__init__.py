"""Role prompts and the team's other prose: packaged files, rendered strictly.

A role file starts with a YAML front matter (`variables`: what the role is given, `max_tokens`: its
reply cap) and holds a system part and a user part, separated by a line `<!-- user -->`. The prose
that is not a role prompt (repair requests, debug notes, fallback diagnoses, evidence explanations,
fallback directions) lives in `messages.yaml`. Templates are Jinja2 with StrictUndefined, checked
against the declared variables before the run starts; an overriding folder may replace any file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2 import meta

from gome.errors import GomeUserError

__all__ = ["ROLE_NAMES", "ROLE_VARIABLES", "Role", "RoleError", "Messages", "load_role", "load_roles",
           "load_messages", "DEFAULT_DIR"]

DEFAULT_DIR = Path(__file__).parent
ROLE_NAMES = ("diagnostician", "memory_keeper", "coder")
_SPLIT = "<!-- user -->"
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)


class RoleError(GomeUserError):
    """A role file is missing, malformed or uses a variable the role does not provide."""


def _front_matter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---\n"):
        return {}, text
    head, sep, body = text[4:].partition("\n---\n")
    if not sep:
        raise RoleError(f"{path}: the front matter opened by '---' is not closed")
    try:
        data = yaml.safe_load(head) or {}
    except yaml.YAMLError as exc:
        raise RoleError(f"{path}: invalid front matter: {exc}") from exc
    if not isinstance(data, dict):
        raise RoleError(f"{path}: the front matter must be a mapping (variables, max_tokens)")
    return data, body


def _declared(name: str) -> tuple[frozenset[str], int]:
    """The variables and reply cap the packaged role file declares (what gome gives the role)."""
    path = DEFAULT_DIR / f"{name}.md"
    data, _ = _front_matter(path, path.read_text(encoding="utf-8"))
    return frozenset(data["variables"]), int(data["max_tokens"])


ROLE_VARIABLES: dict[str, frozenset[str]] = {name: _declared(name)[0] for name in ROLE_NAMES}


def _check(path: Path, text: str, provided: frozenset[str], what: str) -> None:
    try:
        unknown = meta.find_undeclared_variables(_ENV.parse(text)) - provided
    except jinja2.TemplateSyntaxError as exc:
        raise RoleError(f"{path}:{exc.lineno}: {exc.message}") from exc
    if unknown:
        raise RoleError(f"{path}: unknown variable(s) {', '.join(sorted(unknown))}; "
                        f"{what} provides {', '.join(sorted(provided))}")


@dataclass(frozen=True)
class Role:
    name: str
    path: Path
    system: jinja2.Template
    user: jinja2.Template
    max_tokens: int
    preamble: jinja2.Template | None = None  # shared by every role, so a server can reuse its prompt cache

    def render(self, **values: object) -> tuple[str, str]:
        """The (system, user) prompt texts; the system text starts with the shared preamble."""
        try:
            head = self.preamble.render(**values).strip() + "\n\n" if self.preamble else ""
            return head + self.system.render(**values).strip(), self.user.render(**values).strip()
        except jinja2.UndefinedError as exc:
            raise RoleError(f"{self.path}: {exc.message}") from exc


def _pick(name: str, override_dir: Path | None) -> Path:
    path = override_dir / name if override_dir else None
    return path if path is not None and path.is_file() else DEFAULT_DIR / name


def load_role(name: str, override_dir: Path | None = None) -> Role:
    """Loads `name`.md from `override_dir` if it has one, else the packaged default."""
    if name not in ROLE_VARIABLES:
        raise RoleError(f"unknown role {name!r}; roles are {', '.join(sorted(ROLE_VARIABLES))}")
    path = _pick(f"{name}.md", override_dir)
    data, text = _front_matter(path, path.read_text(encoding="utf-8"))
    provided, default_cap = _declared(name)
    declared = frozenset(data.get("variables", provided))
    if declared - provided:
        raise RoleError(f"{path}: declares variable(s) {', '.join(sorted(declared - provided))} that {name} "
                        f"is not given; it is given {', '.join(sorted(provided))}")
    if _SPLIT not in text:
        raise RoleError(f"{path}: no '{_SPLIT}' line separating the system and user parts")
    _check(path, text, declared, name)
    system, user = text.split(_SPLIT, 1)
    return Role(name, path, _ENV.from_string(system), _ENV.from_string(user), int(data.get("max_tokens", default_cap)))


class Messages:
    """The team's prose outside the role prompts: named templates from messages.yaml."""

    def __init__(self, path: Path, templates: dict[str, jinja2.Template], lists: dict[str, list[str]]) -> None:
        self.path, self._templates, self._lists = path, templates, lists

    def render(self, name: str, **values: object) -> str:
        try:
            return self._templates[name].render(**values).strip()
        except jinja2.UndefinedError as exc:
            raise RoleError(f"{self.path}: {name}: {exc.message}") from exc

    def items(self, name: str) -> list[str]:
        return list(self._lists[name])


def load_messages(override_dir: Path | None = None) -> Messages:
    """messages.yaml (an override replaces single entries); every packaged entry must stay defined."""
    default = yaml.safe_load((DEFAULT_DIR / "messages.yaml").read_text(encoding="utf-8"))
    path = _pick("messages.yaml", override_dir)
    data = dict(default)
    if path != DEFAULT_DIR / "messages.yaml":
        try:
            data.update(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        except yaml.YAMLError as exc:
            raise RoleError(f"{path}: invalid YAML: {exc}") from exc
    unknown = sorted(set(data) - set(default))
    if unknown:
        raise RoleError(f"{path}: unknown message(s) {', '.join(unknown)}")
    templates, lists = {}, {}
    for name, value in data.items():
        if isinstance(default[name], list):
            lists[name] = [str(v) for v in value]
            continue
        spec = default[name]
        provided = frozenset(spec["variables"])
        text = value["text"] if isinstance(value, dict) else str(value)
        _check(path, text, provided, f"message {name}")
        templates[name] = _ENV.from_string(text)
    return Messages(path, templates, lists)


def _preamble(override_dir: Path | None) -> jinja2.Template:
    path = _pick("preamble.md", override_dir)
    text = path.read_text(encoding="utf-8")
    _check(path, text, frozenset({"task"}), "the preamble")
    return _ENV.from_string(text)


def load_roles(override_dir: Path | None = None) -> dict[str, Role]:
    """All roles with the shared preamble (preamble.md), checked up front, messages.yaml too."""
    if override_dir is not None and not override_dir.is_dir():
        raise RoleError(f"{override_dir}: roles folder not found")
    preamble = _preamble(override_dir)
    load_messages(override_dir)
    return {name: replace(load_role(name, override_dir), preamble=preamble) for name in ROLE_VARIABLES}
