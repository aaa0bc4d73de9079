"""The journal of a trace: every attempt, in order, each one record holding what led to it (parent,
plan, the diagnosis it came from), what it was (code), and what came of it (report, evidence, outcome,
its own diagnosis). Records are frozen; a later fact (a diagnosis, a veto) replaces the record."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from typing import Any

from gome.schema import Attempt

__all__ = ["Journal", "script_key"]


class _Strip(ast.NodeTransformer):
    """Drops import statements and string statements (docstrings); a body left empty holds `pass`."""

    def visit_Import(self, node: ast.Import) -> None:
        return None

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        return None

    def visit_Expr(self, node: ast.Expr) -> ast.Expr | None:
        return None if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str) else node

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        if isinstance(getattr(node, "body", None), list) and not node.body:  # type: ignore[attr-defined]
            node.body = [ast.Pass()]  # type: ignore[attr-defined]
        return node


@functools.lru_cache(maxsize=512)
def script_key(code: str) -> str:
    """What makes two scripts the same script: their code without comments, layout, docstrings and import
    statements, and what each name they use is imported from; the text itself where it does not parse. Two drafts
    of a diamonds-cut hybrid run differed from the first only in where the forest was imported and in imports they
    never used: the same predictions, run again as new drafts."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code.strip()
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound.update({a.asname or a.name.split(".")[0]: a.name if a.asname else a.name.split(".")[0] for a in node.names})
        elif isinstance(node, ast.ImportFrom):
            for a in node.names:
                name, source = a.asname or a.name, f"{'.' * node.level}{node.module or ''}:{a.name}"
                bound[name] = f"{bound[name]} {source}" if name == "*" and name in bound else source
    stripped = _Strip().visit(tree)
    used = {n.id for n in ast.walk(stripped) if isinstance(n, ast.Name)} | {"*"}  # a star import binds unknown names
    return ast.dump(stripped) + repr(sorted((name, bound[name]) for name in used & bound.keys()))


class Journal:
    """Attempts of one trace by id, in execution order."""

    def __init__(self, attempts: list[Attempt] | None = None) -> None:
        self._items: dict[str, Attempt] = {}
        for attempt in attempts or []:
            self.add(attempt)

    def add(self, attempt: Attempt) -> None:
        if attempt.id in self._items:
            raise ValueError(f"attempt {attempt.id} is already in the journal")
        self._items[attempt.id] = attempt

    def update(self, attempt_id: str, **fields: Any) -> Attempt:
        """Replaces a record by a copy with `fields` changed; returns the new record."""
        record = self._items[attempt_id].model_copy(update=fields)
        self._items[attempt_id] = record
        return record

    def get(self, attempt_id: str | None) -> Attempt | None:
        return self._items.get(attempt_id or "")

    def __getitem__(self, attempt_id: str) -> Attempt:
        return self._items[attempt_id]

    def __contains__(self, attempt_id: object) -> bool:
        return attempt_id in self._items

    def __iter__(self) -> Iterator[Attempt]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    @property
    def last(self) -> Attempt | None:
        return next(reversed(self._items.values()), None)

    def tail(self, n: int) -> list[Attempt]:
        return list(self._items.values())[-n:]

    def drafts(self) -> list[Attempt]:
        return [a for a in self if a.kind == "draft"]

    def same_code(self, code: str) -> Attempt | None:
        """The first executed attempt whose script is `code` (`script_key`: imports, comments and layout aside)."""
        key = script_key(code)
        return next((a for a in self if a.report is not None and script_key(a.code) == key), None)
