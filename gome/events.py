"""The run's event stream: one JSON event per line in events.jsonl, appended and flushed.

Each line is written with a single `write` of a complete line under a lock, so concurrent writers in
one process never interleave and a crash leaves at most one unterminated last line, which
`read_events` skips.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from gome.errors import GomeUserError
from gome.schema import Event, LLMProgress, RunFinished

__all__ = ["EventLog", "read_events", "follow_events", "parse_event", "EVENT_ADAPTER"]

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
        if not isinstance(event, LLMProgress):  # progress is for the live view only
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


def parse_event(line: str, path: Path, number: int) -> Event:
    try:
        return EVENT_ADAPTER.validate_json(line)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "line"
        raise GomeUserError(f"{path}:{number} is not a gome event ({where}: {first.get('msg', 'invalid')})") from exc


def follow_events(path: Path, poll_s: float = 0.2, stop: Callable[[], bool] = lambda: False,
                  timeout_s: float | None = None, offset: int = 0) -> Iterator[Event]:
    """Yields events as they are appended to `path` (from byte `offset`, a line start) until RunFinished,
    `stop()` or the timeout.

    A partially written last line is kept back until its newline arrives; the file may not exist yet.
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    buffer, number = b"", 0
    while not stop() and (deadline is None or time.monotonic() < deadline):
        chunk = b""
        if path.is_file():
            with open(path, "rb") as fh:
                fh.seek(offset)
                chunk = fh.read()
                offset = fh.tell()
        if not chunk:
            time.sleep(poll_s)
            continue
        *lines, buffer = (buffer + chunk).split(b"\n")
        for line in lines:
            number += 1
            if not line.strip():
                continue
            event = parse_event(line.decode("utf-8", errors="replace"), path, number)
            yield event
            if isinstance(event, RunFinished):
                return
