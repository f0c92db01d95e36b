"""Per-clip caption cache in SQLite, so a rerun or resumed shard never pays twice for a model or API call.

Rows hold the raw model text per stage, keyed by clip id, stage, model and prompt digest; post-processing runs on
read, so changing it needs no new calls. Each batch is one transaction: a crash leaves whole batches or nothing.
WAL mode lets several worker processes share one cache file.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS captions (
    clip_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (clip_id, stage, model, prompt)
)
"""


@dataclass(frozen=True)
class CacheKey:
    """``model`` is the producing model id (for the summary: the full ``caption_models`` string)."""

    clip_id: str
    stage: str
    model: str
    prompt: str


class CaptionCache:
    """Thread-safe; ``get_many`` returns only the keys it has."""

    FILENAME = "captions.sqlite"

    def __init__(self, directory: str | Path) -> None:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self.path = path / self.FILENAME
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def __repr__(self) -> str:
        return f"CaptionCache({str(self.path)!r})"

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, str]:
        found: dict[CacheKey, str] = {}
        with self._lock:
            for key in keys:
                row = self._db.execute(
                    "SELECT text FROM captions WHERE clip_id=? AND stage=? AND model=? AND prompt=?",
                    (key.clip_id, key.stage, key.model, key.prompt),
                ).fetchone()
                if row is not None:
                    found[key] = row[0]
        return found

    def put_many(self, items: dict[CacheKey, str]) -> None:
        if not items:
            return
        now = time.time()
        rows = [(k.clip_id, k.stage, k.model, k.prompt, text, now) for k, text in items.items()]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO captions VALUES (?, ?, ?, ?, ?, ?)", rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
