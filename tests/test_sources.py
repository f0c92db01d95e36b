"""Input readers: clip lists, id lists, URL lists and folders -> candidates plus recorded rejections."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from curation.sources import (
    Candidate,
    InvalidRow,
    clip_id,
    read_clip_list,
    read_id_list,
    read_url_list,
    scan_directory,
)

A, B, C = "--PJHxphWEs", "abcdefghijk", "A_b-C123456"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def split(items: list[Candidate | InvalidRow]) -> tuple[list[Candidate], list[InvalidRow]]:
    return [i for i in items if isinstance(i, Candidate)], [i for i in items if isinstance(i, InvalidRow)]


def test_clip_id_is_ms_padded_and_rejects_unsafe_input() -> None:
    assert clip_id(A, 30.0) == "--PJHxphWEs_000030000"
    assert clip_id(A, 0.0004) == clip_id(A, 0.0) and clip_id(A, 1.2345) == f"{A}_000001234"
    assert clip_id("0123456789abcdef", 1e6) == "0123456789abcdef_1000000000"
    for bad_id in ("../etc", "a b", "", "x" * 65):
        with pytest.raises(ValueError):
            clip_id(bad_id, 0.0)
    for bad_start in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            clip_id(A, bad_start)


def test_acav_clip_list_with_header(tmp_path: Path) -> None:
    path = write(tmp_path / "clips.csv", f"videoID,start,end\n{A},30,40\n{B},0.5,10.5\n")
    cands, invalid = split(list(read_clip_list(path, license="CC-BY-4.0")))
    assert invalid == []
    assert cands[0] == Candidate(
        f"{A}_000030000", A, f"https://www.youtube.com/watch?v={A}", 30.0, 40.0, "youtube", "CC-BY-4.0", None
    )
    assert [(c.video_id, c.start_time, c.end_time) for c in cands] == [(A, 30.0, 40.0), (B, 0.5, 10.5)]


def test_audioset_style_lines_with_comments_bom_and_labels(tmp_path: Path) -> None:
    text = (
        "\ufeff# Segments csv created Sun Mar  5 10:54:31 2017\n"
        "# num_ytids=2, num_segs=2, num_unique_labels=527, num_positive_labels=2\n"
        "# YTID, start_seconds, end_seconds, positive_labels\n"
        f'{A}, 30.000, 40.000, "/m/09x0r,/t/dd00088"\n'
        "\n"
        f'{B}, 0.000, 10.000, "/m/04rlf"\n'
    )
    cands, invalid = split(list(read_clip_list(write(tmp_path / "seg.csv", text))))
    assert invalid == []
    assert [(c.video_id, c.start_time, c.end_time) for c in cands] == [(A, 30.0, 40.0), (B, 0.0, 10.0)]


def test_malformed_rows_are_recorded_and_reading_continues(tmp_path: Path) -> None:
    rows = [
        f"{A},30,40",  # 1 ok
        f"{A},30",  # 2 too few columns
        "short_id,0,10",  # 3 bad id
        f"{B},abc,10",  # 4 not a number
        f"{B},-1,10",  # 5 negative
        f"{B},nan,10",  # 6 not finite
        f"{B},1e3,2e3",  # 7 exponent: ambiguous, rejected
        f"{B},10,10",  # 8 end == start
        f"{B},20,10",  # 9 end < start
        f"{A},30.0,40.0",  # 10 duplicate of line 1
        f"{C},5,15",  # 11 ok
    ]
    items = list(read_clip_list(write(tmp_path / "clips.csv", "\n".join(rows) + "\n")))
    cands, invalid = split(items)
    assert [c.clip_id for c in cands] == [clip_id(A, 30), clip_id(C, 5)]
    assert [(r.line_no, r.reason) for r in invalid] == [
        (2, "malformed_row"),
        (3, "invalid_video_id"),
        (4, "malformed_row"),
        (5, "malformed_row"),
        (6, "malformed_row"),
        (7, "malformed_row"),
        (8, "malformed_row"),
        (9, "malformed_row"),
        (10, "duplicate"),
    ]
    assert invalid[0].raw == f"{A},30" and invalid[0].path == str(tmp_path / "clips.csv")
    assert [type(i).__name__ for i in items][-2:] == ["InvalidRow", "Candidate"]  # input order kept


def test_id_list(tmp_path: Path) -> None:
    text = f"# ids\n{A}\n\n  {B}  \nnot-an-id\n{A}\n{C}\n"
    items = list(read_id_list(write(tmp_path / "ids.txt", text)))
    cands, invalid = split(items)
    assert [(c.video_id, c.start_time, c.end_time, c.clip_id) for c in cands] == [
        (A, 0.0, None, f"{A}_000000000"),
        (B, 0.0, None, f"{B}_000000000"),
        (C, 0.0, None, f"{C}_000000000"),
    ]
    assert [(r.line_no, r.reason) for r in invalid] == [(5, "invalid_video_id"), (6, "duplicate")]
    assert Counter(r.reason for r in invalid) == {"invalid_video_id": 1, "duplicate": 1}


def test_shared_seen_set_drops_duplicates_across_inputs(tmp_path: Path) -> None:
    seen: set[str] = set()
    first = list(read_id_list(write(tmp_path / "a.txt", f"{A}\n"), seen=seen))
    second = list(read_url_list(write(tmp_path / "b.txt", f"https://youtu.be/{A}\n"), seen=seen))
    assert isinstance(first[0], Candidate)
    assert isinstance(second[0], InvalidRow) and second[0].reason == "duplicate"


def test_url_list(tmp_path: Path) -> None:
    text = (
        "# urls\n"
        "https://cdn.example.org/v/one.mp4\n"
        f"https://www.youtube.com/watch?v={A}&t=10\n"
        f"https://youtube.com/shorts/{B}\n"
        "ftp://example.org/x.mp4\n"
        "file:///etc/passwd\n"
        "not a url\n"
        "https://cdn.example.org/v/one.mp4\n"
    )
    cands, invalid = split(list(read_url_list(write(tmp_path / "urls.txt", text))))
    url_id = hashlib.sha1(b"https://cdn.example.org/v/one.mp4").hexdigest()[:16]
    assert [(c.source, c.video_id, c.url) for c in cands] == [
        ("url", url_id, "https://cdn.example.org/v/one.mp4"),
        ("youtube", A, f"https://www.youtube.com/watch?v={A}"),
        ("youtube", B, f"https://www.youtube.com/watch?v={B}"),
    ]
    assert all(c.end_time is None for c in cands)
    assert [(r.line_no, r.reason) for r in invalid] == [
        (5, "malformed_row"),
        (6, "malformed_row"),
        (7, "malformed_row"),
        (8, "duplicate"),
    ]


def make_tree(root: Path) -> None:
    for rel in ("b/clip 2.MP4", "a/clip1.mp4", "a/notes.txt", "z.webm", ".hidden/x.mp4", "a/.x.mp4"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * 16)


def test_directory_scan_is_sorted_deterministic_and_mount_independent(tmp_path: Path) -> None:
    make_tree(tmp_path / "one")
    first = list(scan_directory(tmp_path / "one"))
    assert first == list(scan_directory(tmp_path / "one"))
    cands, invalid = split(first)
    assert invalid == []
    assert [c.url for c in cands] == ["a/clip1.mp4", "b/clip%202.MP4", "z.webm"]
    rels = ("a/clip1.mp4", "b/clip 2.MP4", "z.webm")
    assert [c.video_id for c in cands] == [hashlib.sha1(r.encode()).hexdigest()[:16] for r in rels]
    assert all(c.source == "local" and c.end_time is None for c in cands)
    assert cands[0].local_path == str((tmp_path / "one" / "a" / "clip1.mp4").resolve())

    shutil.copytree(tmp_path / "one", tmp_path / "two")
    moved = [c for c in scan_directory(tmp_path / "two") if isinstance(c, Candidate)]
    assert [(c.clip_id, c.url) for c in moved] == [(c.clip_id, c.url) for c in cands]
    assert [c.url for c in scan_directory(tmp_path / "one", extensions=(".webm",))] == ["z.webm"]


def test_directory_scan_rejects_symlinks_leaving_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "in.mp4").write_bytes(b"x")
    (tmp_path / "outside.mp4").write_bytes(b"x")
    os.symlink(tmp_path / "outside.mp4", root / "link.mp4")
    cands, invalid = split(list(scan_directory(root)))
    assert [c.url for c in cands] == ["in.mp4"]
    assert [(r.raw, r.reason, r.line_no) for r in invalid] == [("link.mp4", "unsafe_path", 0)]
