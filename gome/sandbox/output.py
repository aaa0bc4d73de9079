"""Head-and-tail capture of a sandboxed run's output streams."""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_head_tail", "truncate_middle"]


def _marker(dropped: int) -> str:
    return f"\n... [{dropped} chars truncated] ...\n"


def truncate_middle(text: str, max_chars: int) -> str:
    """Keep the head and tail of ``text`` (``max_chars`` in all) around a marker."""
    if len(text) <= max_chars:
        return text
    head = max_chars // 2
    tail = max_chars - head
    return text[:head] + _marker(len(text) - max_chars) + text[len(text) - tail:]


def read_head_tail(path: Path, max_chars: int) -> str:
    """Read a captured stream without loading a huge file into memory."""
    size = path.stat().st_size
    window = 4 * max_chars + 4096  # bytes; generous for multi-byte UTF-8
    with open(path, "rb") as fh:
        if size <= 2 * window:
            return truncate_middle(fh.read().decode("utf-8", "replace"), max_chars)
        head = fh.read(window).decode("utf-8", "replace")[:max_chars // 2]
        fh.seek(size - window)
        tail = fh.read().decode("utf-8", "replace")
    tail = tail[len(tail) - (max_chars - len(head)):]
    dropped = size - len(head.encode()) - len(tail.encode())  # bytes: approximate for non-ASCII
    return head + _marker(dropped) + tail
