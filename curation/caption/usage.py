"""Token and cost accounting for API calls, shared by all worker threads and reported in the run stats."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass


@dataclass
class UsageSnapshot:
    """Counts so far: ``requests`` are HTTP attempts, ``retries`` the attempts after a transient failure."""

    requests: int = 0
    succeeded: int = 0
    failed: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0

    def as_dict(self) -> dict[str, int | float]:
        return asdict(self)


class UsageMeter:
    """Thread-safe accumulator; cost uses the configured prices per 1,000 prompt / completion tokens."""

    def __init__(self, price_prompt_per_1k: float = 0.0, price_completion_per_1k: float = 0.0) -> None:
        self._prices = (price_prompt_per_1k, price_completion_per_1k)
        self._lock = threading.Lock()
        self._totals = UsageSnapshot()

    def request(self, *, retry: bool) -> None:
        with self._lock:
            self._totals.requests += 1
            self._totals.retries += int(retry)

    def outcome(self, *, ok: bool) -> None:
        with self._lock:
            if ok:
                self._totals.succeeded += 1
            else:
                self._totals.failed += 1

    def tokens(self, prompt: int, completion: int, total: int | None = None) -> None:
        with self._lock:
            self._totals.prompt_tokens += prompt
            self._totals.completion_tokens += completion
            self._totals.total_tokens += total if total is not None else prompt + completion
            self._totals.cost_usd += (prompt * self._prices[0] + completion * self._prices[1]) / 1000

    def snapshot(self) -> UsageSnapshot:
        with self._lock:
            return UsageSnapshot(**asdict(self._totals))
