"""Writes one benchmark's section into BENCHMARKS.md between its begin and end markers (appended if absent)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["write_section"]


def write_section(path: Path, begin: str, end: str, section: str) -> None:
    """`section` must start with `begin` and end with `end`; the old section between them is replaced."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if begin in text and end in text:
        text = text[: text.index(begin)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")
