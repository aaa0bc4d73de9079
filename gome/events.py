"""The run's event stream: one JSON event per line in events.jsonl, appended and flushed.

Each line is written with a single `write` of a complete line under a lock, so concurrent writers in
one process never interleave and a crash leaves at most one unterminated last line, which
`read_events` skips.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import TypeAdapter

from gome.schema import Event

__all__ = ["EventLog", "read_events", "EVENT_ADAPTER"]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


class EventLog:
    """Appends events to a JSONL file and forwards them to listeners (the console view)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Event], None]] = []
        path.parent.mkdir(parents=True, exist_ok=True)
        _drop_torn_tail(path)
        self._fh = open(path, "a", encoding="utf-8")

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def emit(self, event: Event) -> None:
        line = event.model_dump_json() + "\n"
        with self._lock:
            self._fh.write(line)
            self._fh.flush()
            os.fsync(self._fh.fileno())
        for listener in self._listeners:
            listener(event)

    def close(self) -> None:
        with self._lock:
            self._fh.close()


def _drop_torn_tail(path: Path) -> None:
    """Cuts an unterminated last line (a crash mid-write) so that appending continues cleanly."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as fh:
        data = fh.read()
        if not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)


def read_events(path: Path) -> Iterator[Event]:
    """Yields the events of a run; a torn final line (crash mid-write) is skipped."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                return
            yield EVENT_ADAPTER.validate_json(line)
