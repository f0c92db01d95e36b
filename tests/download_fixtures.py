"""A small published build whose rows point at generated mp4 files served on 127.0.0.1, with planted failures.

Planted rows (status `acav1m download` must give): three good clips (ok), a span past the end of its
file (too_short), a file without an audio track (no_audio), a 404 (unavailable), a 403 (blocked) and a
server answering 429 to everything (rate_limited).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
from test_fetch import MediaServer

from builder.build import build_dataset
from builder.release import ReleaseInfo
from builder.sample import sample_table
from curation.media.synthetic import make_clip, write_media
from curation.sources import clip_id

DURATION = 4.0
# (file, video id, start, end, expected download status, expected metadata-only status)
PLANTED = (
    ("a", "0000000000000a01", 0.5, 3.5, "ok", "ok"),
    ("b", "0000000000000b01", 0.0, 3.0, "ok", "ok"),
    ("c", "0000000000000c01", 1.0, 3.5, "ok", "ok"),
    ("a", "0000000000000a01", 2.0, 6.0, "too_short", "ok"),  # the generic extractor reports no duration
    ("mute", "00000000000mute1", 0.5, 3.5, "no_audio", "ok"),
    ("gone", "00000000000gone1", 0.0, 3.0, "unavailable", "unavailable"),
    ("forbidden", "0000000000forbid", 0.0, 3.0, "blocked", "blocked"),
    ("limited", "00000000limited1", 0.0, 3.0, "rate_limited", "rate_limited"),
)


def media_files(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for seed, name in enumerate("abc"):
        make_clip(folder / f"{name}.mp4", "sync", seed=seed, duration=DURATION, width=160, height=120)
        files[f"/v/{name}.mp4"] = (folder / f"{name}.mp4").read_bytes()
    still = np.full((120, 160, 3), 80, np.uint8)
    write_media(folder / "mute.mp4", [still] * int(DURATION * 25), None, fps=25)
    files["/v/mute.mp4"] = (folder / "mute.mp4").read_bytes()
    return files


def start_server(files: dict[str, bytes]) -> MediaServer:
    server = MediaServer(files).start()
    server.scripts["/v/forbidden.mp4"] = [403] * 1000
    server.scripts["/v/limited.mp4"] = [429] * 1000
    return server


def build_served_dataset(out: Path, server: MediaServer) -> Path:
    """A `candidates`-shaped build (every row kept) whose url column points at ``server``."""
    n = len(PLANTED)
    table = sample_table(n, seed=3)
    columns = {
        "clip_id": [clip_id(v, s) for _, v, s, _, _, _ in PLANTED],
        "video_id": [v for _, v, _, _, _, _ in PLANTED],
        "url": [server.url(f"/v/{name}.mp4") for name, *_ in PLANTED],
        "start_time": [s for _, _, s, _, _, _ in PLANTED],
        "end_time": [e for _, _, _, e, _, _ in PLANTED],
        "source": ["url"] * n,
        "kept": [True] * n,
        "reject_reason": pa.nulls(n, pa.string()),
    }
    for name, values in columns.items():
        index = table.schema.get_field_index(name)
        table = table.set_column(index, table.schema.field(name), pa.array(values, table.schema.field(name).type))
    release = ReleaseInfo(test_fraction=0.3, date_published="2026-11-30")
    return build_dataset(out, table, release=release).out_dir


def expected(kind: int) -> dict[str, str]:
    """clip_id -> planted status; kind 4 = download, 5 = metadata-only check."""
    return {clip_id(row[1], row[2]): row[kind] for row in PLANTED}
