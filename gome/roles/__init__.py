"""Role prompts: packaged Markdown templates, rendered strictly.

A role file holds a system part and a user part, separated by a line `<!-- user -->`. Templates are
Jinja2 with StrictUndefined and a declared set of variables per role, so a typo in an overriding
file is an error naming the file and the variable, found before the run starts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import jinja2
from jinja2 import meta

from gome.errors import GomeUserError

__all__ = ["ROLE_VARIABLES", "Role", "RoleError", "load_role", "load_roles", "DEFAULT_DIR"]

DEFAULT_DIR = Path(__file__).parent
_SPLIT = "<!-- user -->"

ROLE_VARIABLES: dict[str, frozenset[str]] = {
    "diagnostician": frozenset({"task", "metric", "direction", "attempt", "report", "diff", "best_score", "history", "schema"}),
    "memory_keeper": frozenset({"task", "diagnosis", "memories", "step_size", "schema"}),
    "coder": frozenset({"task", "libraries", "timeout_min", "threads", "mode", "code", "plan", "error", "others", "starter", "functions"}),
}


class RoleError(GomeUserError):
    """A role file is missing, malformed or uses a variable the role does not provide."""


@dataclass(frozen=True)
class Role:
    name: str
    path: Path
    system: jinja2.Template
    user: jinja2.Template
    preamble: jinja2.Template | None = None  # shared by every role, so a server can reuse its prompt cache

    def render(self, **values: object) -> tuple[str, str]:
        """The (system, user) prompt texts; the system text starts with the shared preamble."""
        try:
            head = self.preamble.render(**values).strip() + "\n\n" if self.preamble else ""
            return head + self.system.render(**values).strip(), self.user.render(**values).strip()
        except jinja2.UndefinedError as exc:
            raise RoleError(f"{self.path}: {exc.message}") from exc


def load_role(name: str, override_dir: Path | None = None) -> Role:
    """Loads `name`.md from `override_dir` if it has one, else the packaged default."""
    if name not in ROLE_VARIABLES:
        raise RoleError(f"unknown role {name!r}; roles are {', '.join(sorted(ROLE_VARIABLES))}")
    path = override_dir / f"{name}.md" if override_dir and (override_dir / f"{name}.md").is_file() else DEFAULT_DIR / f"{name}.md"
    text = path.read_text(encoding="utf-8")
    if _SPLIT not in text:
        raise RoleError(f"{path}: no '{_SPLIT}' line separating the system and user parts")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    try:
        unknown = meta.find_undeclared_variables(env.parse(text)) - ROLE_VARIABLES[name]
        system, user = text.split(_SPLIT, 1)
        role = Role(name, path, env.from_string(system), env.from_string(user))
    except jinja2.TemplateSyntaxError as exc:
        raise RoleError(f"{path}:{exc.lineno}: {exc.message}") from exc
    if unknown:
        raise RoleError(f"{path}: unknown variable(s) {', '.join(sorted(unknown))}; "
                        f"{name} provides {', '.join(sorted(ROLE_VARIABLES[name]))}")
    return role


def _preamble(override_dir: Path | None) -> jinja2.Template:
    path = override_dir / "preamble.md" if override_dir and (override_dir / "preamble.md").is_file() else DEFAULT_DIR / "preamble.md"
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    text = path.read_text(encoding="utf-8")
    try:
        unknown = meta.find_undeclared_variables(env.parse(text)) - {"task"}
        template = env.from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise RoleError(f"{path}:{exc.lineno}: {exc.message}") from exc
    if unknown:
        raise RoleError(f"{path}: unknown variable(s) {', '.join(sorted(unknown))}; the preamble provides task")
    return template


def load_roles(override_dir: Path | None = None) -> dict[str, Role]:
    """All roles with the shared preamble (preamble.md), checked up front."""
    if override_dir is not None and not override_dir.is_dir():
        raise RoleError(f"{override_dir}: roles folder not found")
    preamble = _preamble(override_dir)
    return {name: replace(load_role(name, override_dir), preamble=preamble) for name in ROLE_VARIABLES}
