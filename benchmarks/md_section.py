"""Writes one benchmark's section into BENCHMARKS.md between its begin and end markers (appended if absent)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_section", "bench_dir_cli"]


def write_section(path: Path, begin: str, end: str, section: str) -> None:
    """`section` must start with `begin` and end with `end`; the old section between them is replaced."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if begin in text and end in text:
        text = text[: text.index(begin)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def bench_dir_cli(doc: str, render: Callable[[Path], str]) -> None:
    """The command line of a script that renders a bench folder: prints `render(BENCH_DIR)` and, with
    `--into FILE --marker M`, puts it between `<!-- M -->` and `<!-- M-end -->` there."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("bench_dir", type=Path)
    parser.add_argument("--into", type=Path, help="a Markdown file whose marked section to replace")
    parser.add_argument("--marker", default="", help="the section's marker there, e.g. stop23:cells")
    args = parser.parse_args()
    if args.into and not args.marker:
        parser.error("--into needs --marker")
    text = render(args.bench_dir)
    if args.into:
        begin, end = f"<!-- {args.marker} -->", f"<!-- {args.marker}-end -->"
        write_section(args.into, begin, end, f"{begin}\n{text}\n{end}")
    print(text)
