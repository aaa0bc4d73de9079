"""Checksums of a task folder: `checksums.sha256` lists every file; `verify_task` checks them."""

from __future__ import annotations

import hashlib
from pathlib import Path

from gome.tasks.errors import TaskError

__all__ = ["CHECKSUMS", "ChecksumError", "file_digest", "verify_task", "write_checksums"]

CHECKSUMS = "checksums.sha256"


class ChecksumError(TaskError):
    """A task folder whose files differ from its recorded checksums."""


def file_digest(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != CHECKSUMS)


def write_checksums(root: Path) -> None:
    """`sha256sum`-style list of every file of the task folder except itself."""
    lines = [f"{file_digest(p)}  {p.relative_to(root).as_posix()}\n" for p in _files(root)]
    (root / CHECKSUMS).write_text("".join(lines), encoding="utf-8")


def _recorded(root: Path) -> dict[str, str]:
    path = root / CHECKSUMS
    if not path.is_file():
        raise ChecksumError(f"{path}: file not found; prepare the task again")
    recorded: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            raise ChecksumError(f"{path}:{number}: malformed line")
        recorded[name] = digest
    return recorded


def verify_task(root: Path | str) -> int:
    """Check every file against checksums.sha256; return the number checked, ChecksumError on the first problem."""
    root = Path(root)
    if not root.is_dir():
        raise ChecksumError(f"{root}: task folder not found")
    recorded = _recorded(root)
    present = {p.relative_to(root).as_posix() for p in _files(root)}
    for name, digest in recorded.items():
        path = root / name
        if name not in present:
            raise ChecksumError(f"{path}: file listed in {CHECKSUMS} is missing")
        got = file_digest(path)
        if got != digest:
            raise ChecksumError(
                f"{path}: checksum mismatch (recorded {digest[:12]}…, found {got[:12]}…); prepare the task again"
            )
    extra = sorted(present - set(recorded))
    if extra:
        raise ChecksumError(f"{root / extra[0]}: file not listed in {CHECKSUMS} ({len(extra)} unlisted)")
    return len(recorded)
