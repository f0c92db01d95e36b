"""Votes in SQLite: which rater gets which clip next, and each vote written in one transaction.

Every decision that several raters could race on (picking the next item, accepting a vote) runs inside
`BEGIN IMMEDIATE`, so SQLite serialises them: an item is handed out only while its votes plus the live
assignments of other raters are fewer than wanted, a rater never gets an item they already voted on, and
a vote is accepted only for an item assigned to that rater and not yet full. An assignment left unanswered
(a rater closed the tab) stops holding its place after `lease_seconds`.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from curation.review.sample import MANIFEST, Manifest

DATABASE = "votes.sqlite"
ANSWERS = ("yes", "no", "unsure")
RATER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS votes (
    rater TEXT NOT NULL, clip_id TEXT NOT NULL, question TEXT NOT NULL,
    answer TEXT NOT NULL CHECK (answer IN ('yes', 'no', 'unsure')), voted_at REAL NOT NULL,
    PRIMARY KEY (rater, clip_id, question));
CREATE TABLE IF NOT EXISTS assignments (
    rater TEXT NOT NULL, clip_id TEXT NOT NULL, question TEXT NOT NULL, assigned_at REAL NOT NULL,
    PRIMARY KEY (rater, clip_id, question));
"""


@dataclass(frozen=True)
class Vote:
    rater: str
    clip_id: str
    question: str
    answer: str
    voted_at: float


def check_rater(name: str) -> str:
    if not RATER_PATTERN.match(name or ""):
        raise ValueError(f"rater name {name!r}: use 1-40 letters, digits, '.', '_' or '-', starting with a letter "
                         "or digit")
    return name


class VoteStore:
    """The votes of one review directory; safe to use from several threads and processes at once."""

    def __init__(self, review_dir: str | Path, lease_seconds: float = 600.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.review_dir = Path(review_dir)
        self.manifest = Manifest.load(self.review_dir)
        self.items = self.manifest.items()
        self.wanted = self.manifest.spec.votes_per_clip
        self.lease_seconds, self.clock = lease_seconds, clock
        self.path = self.review_dir / DATABASE
        sample_digest = hashlib.sha256((self.review_dir / MANIFEST).read_bytes()).hexdigest()
        with closing(sqlite3.connect(self.path, timeout=30.0)) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('sample_sha256', ?)", (sample_digest,))
            stored = db.execute("SELECT value FROM meta WHERE key = 'sample_sha256'").fetchone()[0]
        if stored != sample_digest:
            raise ValueError(f"{self.path} holds votes for a different {MANIFEST}; keep each sample in its own "
                             "review directory")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    def next_item(self, rater: str) -> int | None:
        """Index into `items` of the rater's current item, or a new one, or None when nothing is left."""
        check_rater(rater)
        now = self.clock()
        live = now - self.lease_seconds
        index = {item: i for i, item in enumerate(self.items)}
        with self._transaction() as db:
            mine = db.execute("SELECT clip_id, question FROM assignments WHERE rater = ? AND assigned_at > ? "
                              "ORDER BY assigned_at LIMIT 1", (rater, live)).fetchone()
            if mine is not None and tuple(mine) in index:
                return index[tuple(mine)]
            load = dict.fromkeys(self.items, 0)
            for clip_id, question, n in db.execute(
                "SELECT clip_id, question, COUNT(*) FROM votes GROUP BY clip_id, question UNION ALL "
                "SELECT clip_id, question, COUNT(*) FROM assignments WHERE rater != ? AND assigned_at > ? "
                "GROUP BY clip_id, question", (rater, live)
            ):
                if (clip_id, question) in load:
                    load[(clip_id, question)] += n
            done = set(map(tuple, db.execute("SELECT clip_id, question FROM votes WHERE rater = ?", (rater,))))
            open_items = [(n, i) for i, (item, n) in enumerate(load.items()) if n < self.wanted and item not in done]
            if not open_items:
                return None
            _, chosen = min(open_items)
            db.execute("INSERT OR REPLACE INTO assignments VALUES (?, ?, ?, ?)", (rater, *self.items[chosen], now))
            return chosen

    def record_vote(self, rater: str, item: int, answer: str) -> bool:
        """Store the vote if the item is the rater's and not yet full; False if it was not taken."""
        check_rater(rater)
        if answer not in ANSWERS:
            raise ValueError(f"answer {answer!r}: expected one of {ANSWERS}")
        if not 0 <= item < len(self.items):
            raise ValueError(f"item {item}: this sample has items 0 to {len(self.items) - 1}")
        clip_id, question = self.items[item]
        with self._transaction() as db:
            assigned = db.execute("DELETE FROM assignments WHERE rater = ? AND clip_id = ? AND question = ?",
                                  (rater, clip_id, question)).rowcount
            votes = db.execute("SELECT COUNT(*) FROM votes WHERE clip_id = ? AND question = ?",
                               (clip_id, question)).fetchone()[0]
            if not assigned or votes >= self.wanted:
                return False
            db.execute("INSERT OR IGNORE INTO votes VALUES (?, ?, ?, ?, ?)",
                       (rater, clip_id, question, answer, self.clock()))
            return True

    def votes(self) -> list[Vote]:
        with closing(sqlite3.connect(self.path, timeout=30.0)) as db:
            rows = db.execute("SELECT rater, clip_id, question, answer, voted_at FROM votes "
                              "ORDER BY voted_at, rowid").fetchall()
        return [Vote(*row) for row in rows]

    def rated_by(self, rater: str) -> int:
        with closing(sqlite3.connect(self.path, timeout=30.0)) as db:
            return db.execute("SELECT COUNT(*) FROM votes WHERE rater = ?", (rater,)).fetchone()[0]
