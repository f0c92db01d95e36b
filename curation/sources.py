"""Turn clip lists, id lists, URL lists and local folders into download candidates.

Every reader yields ``Candidate | InvalidRow`` in input order (folders: sorted by relative path), so a
run can record each rejected row next to the clips it kept instead of stopping at the first bad line.
Rows are rejected with reason ``malformed_row``, ``invalid_video_id``, ``unsafe_path``, ``duplicate``,
``span_out_of_range`` (a clip shorter or longer than the accepted range) or ``unknown_label`` (a label MID
the ontology does not define).
Duplicates are rows whose ``clip_id`` was already yielded; pass one ``seen`` set to several readers to
drop duplicates across inputs too. Counting rejections per reason gives the run's input statistics.

Identifiers are filesystem-safe by construction: YouTube ids are exactly 11 chars of ``[A-Za-z0-9_-]``;
local files and plain URLs get ``sha1(...)[:16]`` hex ids (see ``scan_directory``/``read_url_list``).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import math
import os
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

YOUTUBE_ID_RE = re.compile(r"[A-Za-z0-9_-]{11}")
SAFE_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Plain decimal seconds only: signs, exponents, "nan", "inf" and "1_000" (all accepted by float()) are
# ambiguous in a published list, so they are rejected.
_TIME_RE = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)")
# AudioSet / Freebase label ids: /m/09x0r, /t/dd00088, /g/11b630rrvh
MID_RE = re.compile(r"/[a-z]/[0-9a-z_]+")
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi")
_RAW_MAX = 200

MALFORMED_ROW = "malformed_row"
INVALID_VIDEO_ID = "invalid_video_id"
UNSAFE_PATH = "unsafe_path"
DUPLICATE = "duplicate"
SPAN_OUT_OF_RANGE = "span_out_of_range"
UNKNOWN_LABEL = "unknown_label"


@dataclass(frozen=True)
class Candidate:
    """One clip (or, with ``end_time`` None, one whole file still to be segmented) to fetch.

    ``url`` is what a downloader opens: the canonical watch URL for YouTube, the given URL for URL
    lists, and for local files the path relative to the scanned folder as a percent-encoded relative
    URI reference (portable, and leaks no absolute path into published metadata); ``local_path`` is
    the absolute path actually read. ``license`` is what the list's provider declared ("unknown" if
    nothing), not a verified per-video licence.
    """

    clip_id: str
    video_id: str
    url: str
    start_time: float
    end_time: float | None
    source: str
    license: str = "unknown"
    local_path: str | None = None
    label_ids: tuple[str, ...] = ()  # AudioSet MIDs given by the clip list, in list order
    labels: tuple[str, ...] = ()  # their display names from the ontology
    # where it was read: "list.csv:12" or the scanned folder; errors name it, but it is not the clip's identity
    origin: str = field(default="", compare=False)


@dataclass(frozen=True)
class InvalidRow:
    """An input row that produced no candidate; ``line_no`` is 1-based, 0 for folder entries."""

    path: str
    line_no: int
    reason: str
    raw: str
    detail: str = ""


Item = Candidate | InvalidRow


def clip_id(video_id: str, start_time: float) -> str:
    """``{video_id}_{start in integer ms, 9+ digits}``: the clip's identity and its cache file stem.

    Unambiguous because the suffix after the last ``_`` is all digits (video ids may contain ``_``);
    filesystem-safe because ``video_id`` must match ``SAFE_ID_RE``. Starts closer than 0.5 ms collide
    and are treated as duplicates.
    """
    if not SAFE_ID_RE.fullmatch(video_id):
        raise ValueError(f"video id not filesystem-safe: {video_id!r}")
    if not (math.isfinite(start_time) and start_time >= 0):
        raise ValueError(f"start time must be finite and >= 0: {start_time!r}")
    return f"{video_id}_{int(round(start_time * 1000)):09d}"


def is_youtube_id(text: str) -> bool:
    return YOUTUBE_ID_RE.fullmatch(text) is not None


def youtube_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def read_clip_list(
    path: str | os.PathLike[str],
    license: str = "unknown",
    seen: set[str] | None = None,
    span: tuple[float, float] | None = None,
    label_names: Mapping[str, str] | None = None,
) -> Iterator[Item]:
    """ACAV100M ``videoID,start,end`` rows (header optional) or AudioSet ``YTID, start, end, "labels"``.

    Blank lines and ``#`` lines are skipped. Columns after the third are AudioSet label MIDs (one per
    column, or comma-separated inside one quoted column as AudioSet writes them); with ``label_names``
    (MID -> display name, e.g. from ``curation.ontology``) every MID must be known and gets its
    name. ``span`` = (min, max) seconds rejects rows whose ``end - start`` lies outside it. The first data
    line is taken as a header (and skipped) when neither its first column is an id nor its second a number.
    """
    return _dedupe(str(path), _clip_rows(Path(path), license, span, label_names), seen)


def read_id_list(
    path: str | os.PathLike[str], license: str = "unknown", seen: set[str] | None = None
) -> Iterator[Item]:
    """One YouTube id per line -> whole-video candidates (start 0, end None) to segment later."""
    return _dedupe(str(path), _id_rows(Path(path), license), seen)


def read_url_list(
    path: str | os.PathLike[str], license: str = "unknown", seen: set[str] | None = None
) -> Iterator[Item]:
    """One http(s) URL per line -> whole-file candidates.

    YouTube watch/shorts/youtu.be URLs become ``source="youtube"`` candidates with their real id (so they
    dedupe against id lists); any other URL gets ``source="url"`` and ``video_id = sha1(url)[:16]``.
    """
    return _dedupe(str(path), _url_rows(Path(path), license), seen)


def scan_directory(
    root: str | os.PathLike[str],
    extensions: Iterable[str] = VIDEO_EXTENSIONS,
    license: str = "unknown",
    seen: set[str] | None = None,
) -> Iterator[Item]:
    """Video files under ``root`` (recursive, case-insensitive extensions) sorted by relative path.

    ``video_id = sha1(relative POSIX path)[:16]``, so ids do not depend on where the folder is mounted.
    Hidden entries (leading ``.``) are skipped; symlinks that resolve outside ``root`` are rejected
    as ``unsafe_path``; directory symlinks are not followed.
    """
    return _dedupe(str(root), _dir_rows(Path(root), tuple(e.lower() for e in extensions), license), seen)


def _dedupe(path: str, rows: Iterator[tuple[int, str, Item]], seen: set[str] | None) -> Iterator[Item]:
    seen = set() if seen is None else seen
    for line_no, raw, item in rows:
        if isinstance(item, Candidate):
            if item.clip_id in seen:
                yield InvalidRow(path, line_no, DUPLICATE, raw[:_RAW_MAX], f"clip_id {item.clip_id} already read")
                continue
            seen.add(item.clip_id)
            item = dataclasses.replace(item, origin=f"{path}:{line_no}" if line_no else path)
        yield item


def _data_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-blank, non-comment lines with 1-based numbers; a UTF-8 BOM is tolerated."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        for line_no, line in enumerate(f, start=1):
            text = line.strip()
            if text and not text.startswith("#"):
                yield line_no, text


def _parse_time(text: str) -> float | None:
    value = float(text) if _TIME_RE.fullmatch(text) else math.nan
    return value if math.isfinite(value) else None


def _clip_rows(
    path: Path, license: str, span: tuple[float, float] | None, label_names: Mapping[str, str] | None
) -> Iterator[tuple[int, str, Item]]:
    for n, (line_no, text) in enumerate(_data_lines(path)):
        fields = [f.strip() for f in next(csv.reader([text], skipinitialspace=True))]
        if n == 0 and _is_header(fields):
            continue
        yield line_no, text, _clip_row(path, line_no, text, fields, license, span, label_names)


def _is_header(fields: list[str]) -> bool:
    return len(fields) >= 2 and not is_youtube_id(fields[0]) and _parse_time(fields[1]) is None


def _clip_row(
    path: Path, line_no: int, text: str, fields: list[str], license: str,
    span: tuple[float, float] | None = None, label_names: Mapping[str, str] | None = None,
) -> Item:
    def invalid(reason: str, detail: str) -> InvalidRow:
        return InvalidRow(str(path), line_no, reason, text[:_RAW_MAX], detail)

    if len(fields) < 3:
        return invalid(MALFORMED_ROW, f"expected videoID,start,end; got {len(fields)} column(s)")
    video_id, start_text, end_text = fields[:3]
    if not is_youtube_id(video_id):
        return invalid(INVALID_VIDEO_ID, "YouTube ids are 11 chars of [A-Za-z0-9_-]")
    start, end = _parse_time(start_text), _parse_time(end_text)
    if start is None or end is None:
        return invalid(MALFORMED_ROW, "start/end must be plain non-negative decimal seconds")
    if end <= start:
        return invalid(MALFORMED_ROW, "end must be greater than start")
    if span is not None and not span[0] - 1e-6 <= end - start <= span[1] + 1e-6:
        return invalid(SPAN_OUT_OF_RANGE, f"clip is {end - start:g} s; accepted {span[0]:g}-{span[1]:g} s "
                                          "(segment.min_seconds / segment.max_seconds)")
    mids = [m.strip() for field in fields[3:] for m in field.split(",") if m.strip()]
    if bad := [m for m in mids if not MID_RE.fullmatch(m)]:
        return invalid(MALFORMED_ROW, f"columns after videoID,start,end must be AudioSet label ids such as "
                                      f"/m/09x0r; got {bad[0][:40]!r}")
    if label_names is not None and (unknown := [m for m in mids if m not in label_names]):
        return invalid(UNKNOWN_LABEL, f"label {unknown[0]} is not in the ontology (set sources.ontology to "
                                      "an ontology.json that defines it)")
    names = tuple(label_names[m] for m in mids) if label_names is not None else ()
    return Candidate(clip_id(video_id, start), video_id, youtube_url(video_id), start, end, "youtube", license,
                     label_ids=tuple(dict.fromkeys(mids)), labels=tuple(dict.fromkeys(names)))


def _id_rows(path: Path, license: str) -> Iterator[tuple[int, str, Item]]:
    for line_no, text in _data_lines(path):
        if is_youtube_id(text):
            item: Item = _whole(text, youtube_url(text), "youtube", license)
        else:
            item = InvalidRow(str(path), line_no, INVALID_VIDEO_ID, text[:_RAW_MAX], "expected one YouTube id")
        yield line_no, text, item


def _url_rows(path: Path, license: str) -> Iterator[tuple[int, str, Item]]:
    for line_no, text in _data_lines(path):
        parts = urllib.parse.urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in text):
            item: Item = InvalidRow(str(path), line_no, MALFORMED_ROW, text[:_RAW_MAX], "expected one http(s) URL")
        elif (yt_id := _youtube_id_from_url(parts)) is not None:
            item = _whole(yt_id, youtube_url(yt_id), "youtube", license)
        else:
            item = _whole(_short_hash(text), text, "url", license)
        yield line_no, text, item


def _youtube_id_from_url(parts: urllib.parse.SplitResult) -> str | None:
    host = (parts.hostname or "").removeprefix("www.").removeprefix("m.")
    if host == "youtu.be":
        candidate = parts.path.strip("/")
    elif host in ("youtube.com", "music.youtube.com"):
        if parts.path == "/watch":
            candidate = urllib.parse.parse_qs(parts.query).get("v", [""])[0]
        elif parts.path.startswith(("/shorts/", "/embed/")):
            candidate = parts.path.split("/")[2]
        else:
            return None
    else:
        return None
    return candidate if is_youtube_id(candidate) else None


def _dir_rows(root: Path, extensions: tuple[str, ...], license: str) -> Iterator[tuple[int, str, Item]]:
    root = root.resolve(strict=True)
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and name.lower().endswith(extensions):
                full = Path(dirpath, name)
                found.append((full.relative_to(root).as_posix(), full))
    for rel, full in sorted(found):
        if not full.resolve().is_relative_to(root):
            item: Item = InvalidRow(str(root), 0, UNSAFE_PATH, rel[:_RAW_MAX], "symlink points outside the folder")
        else:
            item = _whole(_short_hash(rel), urllib.parse.quote(rel), "local", license, local_path=str(full))
        yield 0, rel, item


def _whole(video_id: str, url: str, source: str, license: str, local_path: str | None = None) -> Candidate:
    return Candidate(clip_id(video_id, 0.0), video_id, url, 0.0, None, source, license, local_path)


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
