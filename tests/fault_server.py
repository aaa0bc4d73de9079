"""An OpenAI-compatible server on 127.0.0.1 that injects faults in a seeded random mix: HTTP 429 and
500, replies slower than the client's timeout, truncated JSON, empty content and non-JSON text."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from openai_server import Policy, serve

FAULTS = ("ok", "429", "500", "slow", "truncated", "empty", "prose")


class FaultyPolicy:
    """Wraps a policy: each request draws a fault with probability `rate` (seeded)."""

    def __init__(self, policy: Policy, seed: int, rate: float, slow_s: float) -> None:
        self.policy, self.rng, self.rate, self.slow_s = policy, random.Random(seed), rate, slow_s
        self.lock = threading.Lock()
        self.drawn: list[str] = []

    def draw(self, texts: list[str]) -> str:
        with self.lock:
            if texts == ["Reply with OK."]:
                fault = "ok"
            else:
                fault = self.rng.choice(FAULTS[1:]) if self.rng.random() < self.rate else "ok"
            self.drawn.append(fault)
            return fault

    def __call__(self, texts: list[str]) -> str | tuple[int, str]:
        fault = self.draw(texts)
        if fault in ("429", "500"):
            return int(fault), '{"error": {"message": "injected fault", "type": "server_error"}}'
        if fault == "slow":
            time.sleep(self.slow_s)
        reply = self.policy(texts)
        if fault == "truncated":
            return reply[: len(reply) // 2]
        if fault == "empty":
            return ""
        if fault == "prose":
            return "Certainly! I have thought about it carefully and everything looks fine."
        return reply


@contextmanager
def serve_faulty(policy: Policy, seed: int, rate: float, slow_s: float) -> Iterator[tuple[str, FaultyPolicy]]:
    faulty = FaultyPolicy(policy, seed, rate, slow_s)
    with serve(faulty) as (base_url, _requests):
        yield base_url, faulty
