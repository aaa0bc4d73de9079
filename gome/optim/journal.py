"""The journal of a trace: every attempt, in order, each one record holding what led to it (parent,
plan, the diagnosis it came from), what it was (code), and what came of it (report, evidence, outcome,
its own diagnosis). Records are frozen; a later fact (a diagnosis, a veto) replaces the record."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gome.schema import Attempt

__all__ = ["Journal"]


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
        """The first executed attempt whose script is `code` (ignoring trailing whitespace)."""
        key = code.strip()
        return next((a for a in self if a.code.strip() == key and a.report is not None), None)
