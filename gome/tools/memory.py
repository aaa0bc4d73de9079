"""Success memory, the momentum of the optimiser.

Entries are updates that improved the score. Retrieval ranks them by relevance to the current
diagnosis (word overlap), decays them with age (half-life in steps) and weighs them by gain; the
entry with the largest gain is always included.
"""

from __future__ import annotations

import re

from gome.schema import MemoryEntry

__all__ = ["SuccessMemory", "relevance"]

_WORD = re.compile(r"[a-z][a-z0-9_]{2,}")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def relevance(query: str, entry: MemoryEntry) -> float:
    """Jaccard overlap of the words of a query and of an entry's direction and changes."""
    a, b = _words(query), _words(entry.direction + " " + " ".join(entry.changes))
    return len(a & b) / len(a | b) if a and b else 0.0


class SuccessMemory:
    """A list of successes with weighted retrieval."""

    def __init__(self, half_life: float = 30.0) -> None:
        self.half_life = half_life
        self.entries: list[MemoryEntry] = []

    def add(self, entry: MemoryEntry) -> None:
        self.entries.append(entry)

    def get(self, entry_id: str) -> MemoryEntry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def weight(self, query: str, entry: MemoryEntry, now: int) -> float:
        top_gain = max(e.gain for e in self.entries)
        decay = 0.5 ** (max(0, now - entry.step) / self.half_life)
        return (0.2 + relevance(query, entry)) * decay * (entry.gain / top_gain if top_gain > 0 else 1.0)

    def retrieve(self, query: str, now: int, k: int = 3) -> list[MemoryEntry]:
        """Top-k entries by relevance x age decay x gain, the best-gain entry always among them."""
        if not self.entries:
            return []
        ranked = sorted(self.entries, key=lambda e: self.weight(query, e, now), reverse=True)[:k]
        best = max(self.entries, key=lambda e: e.gain)
        if best not in ranked:
            ranked = ranked[: k - 1] + [best]
        return ranked
