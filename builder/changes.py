"""Release notes: what a build changes against the previous release (clips added, removed, changed, and why).

The previous release is a built directory or a Hub repo (`org/name` or `org/name@revision`); its `default`
config is found through its card's `configs`, so releases of the older layout compare too.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from huggingface_hub import constants

from builder.schema import CAPTION_COLUMNS, IDENTITY_COLUMNS, LABEL_COLUMNS, PROVENANCE_COLUMNS, SCORE_COLUMNS

if TYPE_CHECKING:
    from builder.release import ReleaseInfo
    from builder.takedown import Removals

# What changed in a clip, said in a curator's words: one name per column group of the schema.
GROUPS = {
    "identity": [c.name for c in IDENTITY_COLUMNS],
    "captions": [c.name for c in CAPTION_COLUMNS],
    "scores": [c.name for c in SCORE_COLUMNS],
    "labels": [c.name for c in LABEL_COLUMNS],
    "provenance": [c.name for c in PROVENANCE_COLUMNS],
}
NOTES_FILE = "RELEASE_NOTES.md"


@dataclass
class ReleaseChanges:
    previous: str
    previous_rows: int = 0
    added: list[str] = field(default_factory=list)
    removed: dict[str, list[str]] = field(default_factory=dict)  # reason -> clip ids
    changed: dict[str, list[str]] = field(default_factory=dict)  # changed column groups -> clip ids


def _open(previous: str) -> tuple[Any, str]:
    """A filesystem and root for a directory or a Hub repo id (read through huggingface_hub's HfFileSystem)."""
    if os.path.isdir(previous):
        return fsspec.filesystem("file"), os.path.abspath(previous)
    if previous.count("/") == 1 and not previous.startswith((".", "/")):
        return fsspec.core.url_to_fs(f"hf://datasets/{previous}")
    raise FileNotFoundError(f"--previous {previous!r} is neither a built directory nor an <org>/<name> repo id")


def _default_files(fs: Any, root: str) -> list[str]:
    with fs.open(f"{root}/README.md", "r", encoding="utf-8") as handle:
        text = handle.read()
    meta = yaml.safe_load(text.split("---", 2)[1]) if text.startswith("---") else {}
    configs = {c["config_name"]: c for c in (meta or {}).get("configs", [])}
    if "default" not in configs:
        raise ValueError(f"previous release {root}: its card declares no `default` config")
    files = []
    for data_file in configs["default"]["data_files"]:
        files += sorted(fs.glob(f"{root}/{data_file['path']}"))
    return files


def _fingerprints(fs: Any, files: list[str]) -> pd.DataFrame:
    """One row per clip (indexed by clip id), one uint64 hash column per column group: ~60 bytes a clip."""
    parts = []
    for path in files:
        with fs.open(path, "rb") as handle:
            table = pq.read_table(handle)
        frame = table.to_pandas()
        for name in table.column_names:  # list values (labels) hash as their joined text
            if pa.types.is_list(table.schema.field(name).type) or pa.types.is_large_list(table.schema.field(name).type):
                frame[name] = frame[name].map(lambda v: None if v is None else "\x1f".join(map(str, v)))
        parts.append(pd.DataFrame(
            {name: pd.util.hash_pandas_object(frame[[c for c in columns if c in frame]], index=False).to_numpy()
             for name, columns in GROUPS.items()},
            index=pd.Index(frame["clip_id"], name="clip_id"),
        ))
    return pd.concat(parts) if parts else pd.DataFrame(columns=list(GROUPS), index=pd.Index([], name="clip_id"))


def load_previous(previous: str) -> pd.DataFrame:
    """Fingerprints of the previous release's `default` clips; read before building, so a typo fails fast."""
    from builder.push import hub_errors

    fs, root = _open(previous)
    with hub_errors(constants.ENDPOINT, previous):
        try:
            return _fingerprints(fs, _default_files(fs, root))
        except FileNotFoundError as error:
            raise FileNotFoundError(
                f"previous release {previous} was not found ({error}): give a built folder or an existing "
                "<org>/<name>[@revision] you can read"
            ) from None


def compare_releases(previous: str, old: pd.DataFrame, built: Path, removals: Removals) -> ReleaseChanges:
    """Compare the `default` config of the previous release with the one just built into `built`."""
    local = fsspec.filesystem("file")
    new = _fingerprints(local, sorted(local.glob(f"{built}/data/default/*.parquet")))
    changes = ReleaseChanges(previous, previous_rows=len(old))
    changes.added = sorted(new.index.difference(old.index))
    gone = set(old.index.difference(new.index))
    reasons = _reject_reasons(built, gone)
    taken_down = set(removals.removed_clips)
    removed: dict[str, list[str]] = defaultdict(list)
    for clip_id in sorted(gone):
        if clip_id in taken_down:
            removed["takedown request (removals file)"].append(clip_id)
        elif clip_id in reasons:
            removed[f"filtered out: {reasons[clip_id] or 'not kept'}"].append(clip_id)
        else:
            removed["not among the new records"].append(clip_id)
    changes.removed = dict(sorted(removed.items()))
    both = new.index.intersection(old.index)
    differs = old.loc[both, list(GROUPS)].to_numpy() != new.loc[both, list(GROUPS)].to_numpy()
    changed: dict[str, list[str]] = defaultdict(list)
    for row in differs.any(axis=1).nonzero()[0]:
        changed[", ".join(name for name, d in zip(GROUPS, differs[row]) if d)].append(both[row])
    changes.changed = {groups: sorted(ids) for groups, ids in sorted(changed.items())}
    return changes


def _reject_reasons(built: Path, clip_ids: set[str]) -> dict[str, str | None]:
    """Why the new candidates config did not keep each of `clip_ids` (absent ids are not candidates)."""
    files = sorted((built / "data/candidates").glob("*.parquet"))
    if not files or not clip_ids:
        return {}
    reasons = {}
    for path in files:
        table = pq.read_table(path, columns=["clip_id", "reject_reason"])
        table = table.filter(pc.is_in(table.column("clip_id"), value_set=pa.array(sorted(clip_ids), pa.string())))
        reasons.update(zip(table.column("clip_id").to_pylist(), table.column("reject_reason").to_pylist()))
    return reasons


def _id_list(ids: list[str], limit: int = 50) -> str:
    shown = ", ".join(f"`{i}`" for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def render_notes(release: ReleaseInfo, rows: int, removals: Removals, changes: ReleaseChanges | None) -> str:
    """RELEASE_NOTES.md: this release's identity, its takedowns and its differences from the previous one."""
    lines = [f"# Release notes: {release.name} {release.version}", ""]
    lines.append(f"Published {release.date_published}; `default` holds {rows} clips.")
    lines += ["", "## Removed on request", ""]
    removed = removals.removed_clips
    if removals.ids:
        lines.append(
            f"{len(removals.ids)} ids listed in the removals file removed {len(removed)} clips from every config "
            f"({', '.join(f'{name}: {len(ids)}' for name, ids in sorted(removals.removed.items())) or 'none present'})."
        )
        if removed:
            lines += ["", _id_list(removed, limit=1000)]
    else:
        lines.append("No removals file was given for this build.")
    lines += ["", "## Changes since the previous release", ""]
    if changes is None:
        lines.append("No previous release was given (`acav1m build --previous`), so none are listed.")
        return "\n".join(lines) + "\n"
    lines.append(f"Compared with `{changes.previous}` ({changes.previous_rows} clips in its `default` config).")
    lines += ["", "| change | reason | clips |", "|---|---|---|", f"| added | | {len(changes.added)} |"]
    lines += [f"| removed | {reason} | {len(ids)} |" for reason, ids in changes.removed.items()]
    lines += [f"| changed | {groups} | {len(ids)} |" for groups, ids in changes.changed.items()]
    for title, groups in (("Removed", changes.removed), ("Changed", changes.changed)):
        for reason, ids in groups.items():
            lines += ["", f"**{title}: {reason}.** {_id_list(ids)}"]
    if changes.added:
        lines += ["", f"**Added.** {_id_list(changes.added)}"]
    return "\n".join(lines) + "\n"
