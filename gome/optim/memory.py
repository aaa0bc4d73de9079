"""The optimiser's memories: successes (momentum) and failures (negative momentum).

A success is an update whose gain passed acceptance; a failure is a direction that was tried and did
not help (crash, no-op, worse, tie). Retrieval ranks entries by relevance to the current diagnosis
(word overlap), decays them with age (half-life in steps) and, for successes, weighs them by gain; the
success with the largest gain is always included. `repeats` recognises a direction that already failed.
"""

from __future__ import annotations

import re

from gome.schema import MemoryEntry

__all__ = ["Memory", "relevance", "overlap", "words", "REPEAT_OVERLAP"]

_WORD = re.compile(r"[a-z][a-z0-9_]{2,}")
_STOP = frozenset("the and for with use using from into its that this than more add all model".split())
REPEAT_OVERLAP = 0.5  # word overlap at which a proposed direction counts as one that already failed


def words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower())) - _STOP


def overlap(a: str, b: str) -> float:
    """Jaccard overlap of the content words of two texts."""
    x, y = words(a), words(b)
    return len(x & y) / len(x | y) if x and y else 0.0


def relevance(query: str, entry: MemoryEntry) -> float:
    """Overlap of a query with an entry's direction and changes."""
    return overlap(query, entry.direction + " " + " ".join(entry.changes))


class Memory:
    """Successes and failures with weighted retrieval."""

    def __init__(self, half_life: float = 30.0) -> None:
        self.half_life = half_life
        self.entries: list[MemoryEntry] = []

    @property
    def successes(self) -> list[MemoryEntry]:
        return [e for e in self.entries if e.outcome == "success"]

    @property
    def failures(self) -> list[MemoryEntry]:
        return [e for e in self.entries if e.outcome != "success"]

    def add(self, entry: MemoryEntry) -> None:
        if all(e.id != entry.id for e in self.entries):
            self.entries.append(entry)

    def remove(self, entry_id: str) -> None:
        self.entries = [e for e in self.entries if e.id != entry_id]

    def get(self, entry_id: str) -> MemoryEntry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def decay(self, entry: MemoryEntry, now: int) -> float:
        return 0.5 ** (max(0, now - entry.step) / self.half_life)

    def weight(self, query: str, entry: MemoryEntry, now: int) -> float:
        successes = self.successes
        top_gain = max((e.gain for e in successes), default=0.0)
        scale = entry.gain / top_gain if entry.outcome == "success" and top_gain > 0 else 1.0
        return (0.2 + relevance(query, entry)) * self.decay(entry, now) * scale

    def retrieve(self, query: str, now: int, k: int = 3) -> list[MemoryEntry]:
        """Top-k successes by relevance x age decay x gain, the best-gain success always among them."""
        successes = self.successes
        if not successes:
            return []
        ranked = sorted(successes, key=lambda e: self.weight(query, e, now), reverse=True)[:k]
        best = max(successes, key=lambda e: e.gain)
        if best not in ranked:
            ranked = ranked[: k - 1] + [best]
        return ranked

    def retrieve_failures(self, query: str, now: int, k: int = 4) -> list[MemoryEntry]:
        """The k failures most relevant to a query, recent ones first among equals."""
        return sorted(self.failures, key=lambda e: self.weight(query, e, now), reverse=True)[:k]

    def repeats(self, direction: str, now: int) -> MemoryEntry | None:
        """The failure that `direction` repeats (word overlap >= REPEAT_OVERLAP, not decayed away), if any."""
        live = [e for e in self.failures if self.decay(e, now) >= 0.25]
        scored = [(overlap(direction, e.direction), e) for e in live]
        hit = max(scored, key=lambda pair: pair[0], default=(0.0, None))
        return hit[1] if hit[0] >= REPEAT_OVERLAP else None
