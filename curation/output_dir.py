"""Output folders acav1m may write into: new, empty, or written by acav1m before (a marker file says so).

A command never writes into a folder of someone else's files (a thesis, another tool's run) unless told
to with `--overwrite`; even then it only writes its own file names and deletes nothing it did not write.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

MARKER = ".acav1m"


def claim(path: str | os.PathLike, kind: str, overwrite: bool = False, legacy: tuple[str, ...] = ()) -> Path:
    """Create `path` (or accept it as ours) and mark it; refuse one that holds files acav1m did not write.

    `legacy` names files whose joint presence identifies an acav1m folder written before markers existed.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{path} is a file, not a folder: choose a folder for the {kind} output")
    marker = path / MARKER
    ours = marker.is_file() or (bool(legacy) and all((path / name).exists() for name in legacy))
    if path.is_dir() and not ours and not overwrite:
        entries = sorted(p.name for p in path.iterdir())
        if entries:
            shown = ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")
            raise FileExistsError(
                f"{path} holds files acav1m did not write ({shown}); choose a new or empty folder, "
                f"or pass --overwrite to write the {kind} outputs beside them")
    path.mkdir(parents=True, exist_ok=True)
    if not marker.is_file():
        tmp = marker.with_name(MARKER + ".tmp")
        tmp.write_text(json.dumps({"written_by": "acav1m", "kind": kind}) + "\n")
        os.replace(tmp, marker)
    return path
