"""Where a clip's media can be found: `media` config Parquet, WebDataset tar shards, folders, or a run's files.

A review can only show clips whose media exist, so the sampler first asks which clip ids each source holds
(cheap: one column or a tar index) and copies bytes only for the clips it picked. Tar shards are read with
the stdlib `tarfile` (the `webdataset` reader streams and decodes every sample; here a few members are
picked by name, which needs no decoding and no extra dependency): members are `{clip_id}.mp4`, `{clip_id}.flac`, `{clip_id}.json` (the WebDataset
layout `acav1m download` writes); a key is the member's base name up to its first dot. Clips of local
source videos are found under the run's source directories.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq


@dataclass(frozen=True)
class MediaRef:
    """One clip's media: `kind` parquet | tar | files | source; `start`/`end` cut a whole source video."""

    kind: str
    location: str
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class PlacedMedia:
    """The video (with its sound) written into the review directory, and the span of it to play."""

    video: str
    start: float | None
    end: float | None


class MediaIndex:
    """clip_id -> where its media are; the first source naming a clip wins (explicit sources come first)."""

    def __init__(self) -> None:
        self.refs: dict[str, MediaRef] = {}

    def __contains__(self, clip_id: str) -> bool:
        return clip_id in self.refs

    def _add(self, clip_id: str, ref: MediaRef) -> None:
        self.refs.setdefault(clip_id, ref)

    def add_path(self, path: Path) -> None:
        """A `media` Parquet file, a tar shard, or a folder holding shards, Parquet or `{clip_id}.mp4` files."""
        if not path.exists():
            raise FileNotFoundError(f"media source {path} does not exist")
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.name.endswith((".tar", ".parquet")):
                    self.add_path(child)
                elif child.suffix == ".mp4":
                    self._add(child.stem, MediaRef("files", str(path)))
        elif path.name.endswith(".tar"):
            self.add_tar(path)
        elif path.suffix == ".parquet":
            self.add_parquet(path)
        else:
            raise ValueError(f"media source {path}: expected a .tar shard, a media .parquet file or a folder")

    def add_parquet(self, path: Path) -> None:
        names = pq.read_schema(path).names
        if not {"clip_id", "video"} <= set(names):
            raise ValueError(f"media source {path}: a media Parquet needs the columns clip_id and video, has {names}")
        for clip_id in pq.read_table(path, columns=["clip_id"]).column("clip_id").to_pylist():
            self._add(clip_id, MediaRef("parquet", str(path)))

    def add_tar(self, path: Path) -> None:
        try:
            with tarfile.open(path) as shard:
                names = [m.name for m in shard.getmembers() if m.isfile()]
        except tarfile.TarError as error:
            raise ValueError(f"media source {path}: not a readable tar shard ({error})") from error
        for name in names:
            key, _, extension = Path(name).name.partition(".")
            if extension == "mp4":
                self._add(key, MediaRef("tar", str(path)))

    def add_sources(self, rows: Iterable[dict], directories: Iterable[Path]) -> None:
        """Clips of local source videos (`source` local: `url` is the file's path inside one of the run's
        source `directories`, URL-quoted): the whole video is copied once and the page plays the clip's span."""
        roots = [Path(d).resolve() for d in directories]
        for row in rows:
            if row.get("source") != "local" or not row.get("url"):
                continue
            relative = urllib.parse.unquote(row["url"])
            for root in roots:
                path = (root / relative).resolve()
                if path.is_relative_to(root) and path.is_file():
                    self._add(row["clip_id"], MediaRef("source", str(path), row.get("start_time"), row.get("end_time")))
                    break

    def place(self, picks: list[tuple[str, str]], media_dir: Path) -> dict[str, PlacedMedia]:
        """Copy the media of (clip_id, file stem) picks into `media_dir`, reading each source once."""
        media_dir.mkdir(parents=True, exist_ok=True)
        placed: dict[str, PlacedMedia] = {}
        by_location: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for clip_id, stem in picks:
            ref = self.refs[clip_id]
            by_location.setdefault((ref.kind, ref.location), []).append((clip_id, stem))
        for (kind, location), group in sorted(by_location.items()):
            wanted = dict(group)
            if kind == "parquet":
                placed.update(_place_parquet(Path(location), wanted, media_dir))
            elif kind == "tar":
                placed.update(_place_tar(Path(location), wanted, media_dir))
            elif kind == "files":
                for clip_id, stem in group:
                    placed[clip_id] = _place_files(Path(location), clip_id, stem, media_dir)
            else:
                placed.update(_place_source(Path(location), [(c, self.refs[c]) for c, _ in group], media_dir))
        return placed


def _write(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _place_parquet(path: Path, wanted: dict[str, str], media_dir: Path) -> dict[str, PlacedMedia]:
    table = pq.read_table(path, columns=["clip_id", "video"], filters=pc.field("clip_id").isin(sorted(wanted)))
    placed = {}
    for row in table.to_pylist():
        clip_id, stem = row["clip_id"], wanted[row["clip_id"]]
        video = (row["video"] or {}).get("bytes")
        if not video:
            raise ValueError(f"{path}: clip {clip_id} has no video bytes")
        _write(media_dir / f"{stem}.mp4", video)
        placed[clip_id] = PlacedMedia(f"{stem}.mp4", None, None)
    return placed


def _place_tar(path: Path, wanted: dict[str, str], media_dir: Path) -> dict[str, PlacedMedia]:
    placed = {}
    with tarfile.open(path) as shard:
        for member in shard:
            key, _, extension = Path(member.name).name.partition(".")
            if key in wanted and extension == "mp4" and member.isfile():
                handle = shard.extractfile(member)
                assert handle is not None  # a regular file always has a body
                _write(media_dir / f"{wanted[key]}.mp4", handle.read())
                placed[key] = PlacedMedia(f"{wanted[key]}.mp4", None, None)
    return placed


def _place_files(folder: Path, clip_id: str, stem: str, media_dir: Path) -> PlacedMedia:
    _copy(folder / f"{clip_id}.mp4", media_dir / f"{stem}.mp4")
    return PlacedMedia(f"{stem}.mp4", None, None)


def _place_source(path: Path, group: list[tuple[str, MediaRef]], media_dir: Path) -> dict[str, PlacedMedia]:
    """One copy of a whole source video, shared by its clips; the page plays each clip's span of it."""
    name = f"source-{hashlib.blake2b(str(path.resolve()).encode(), digest_size=6).hexdigest()}{path.suffix.lower()}"
    _copy(path, media_dir / name)
    return {clip_id: PlacedMedia(name, ref.start, ref.end) for clip_id, ref in group}


def _copy(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
