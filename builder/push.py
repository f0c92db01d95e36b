"""Publish a built dataset directory to the Hugging Face Hub (or any server speaking its API).

Only the published layout goes up: README.md, croissant.json and data/**/*.parquet. A loading script at
the root is refused: `datasets` 5 would reject the repo. The token comes from the environment or
`hf auth login` through huggingface_hub, and is never printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import HfApi

REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
PUBLISHED = ("README.md", "croissant.json", "data/*.parquet", "data/*/*.parquet")


@dataclass(frozen=True)
class PushPlan:
    folder: Path
    repo_id: str
    files: tuple[tuple[str, int], ...]  # (path in repo, bytes)

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)

    def describe(self) -> str:
        lines = [f"{path}  ({size:,} bytes)" for path, size in self.files]
        return "\n".join(lines + [f"{len(self.files)} files, {self.total_bytes:,} bytes -> datasets/{self.repo_id}"])


def plan_push(folder: str | Path, repo_id: str) -> PushPlan:
    """Check the folder is a built dataset and list exactly what would be uploaded."""
    folder = Path(folder).resolve()
    if not REPO_ID.match(repo_id) or ".." in repo_id:
        raise ValueError(f"invalid repo id {repo_id!r}: expected <org>/<name> of [A-Za-z0-9_.-]")
    if not (folder / "README.md").is_file():
        raise FileNotFoundError(f"{folder} is not a built dataset: README.md is missing (run `acav1m build`)")
    scripts = sorted(p.name for p in folder.glob("*.py"))
    if scripts:
        raise ValueError(f"refusing to upload loading scripts at the repo root ({scripts}): datasets 5 rejects them")
    files = []
    for pattern in PUBLISHED:
        for path in sorted(folder.glob(pattern)):
            if path.is_symlink() or not path.is_file():
                raise ValueError(f"refusing {path}: only regular files are published")
            files.append((path.relative_to(folder).as_posix(), path.stat().st_size))
    if not any(name.endswith(".parquet") for name, _ in files):
        raise FileNotFoundError(f"{folder} has no Parquet shards under data/")
    return PushPlan(folder, repo_id, tuple(files))


def push(plan: PushPlan, private: bool = False, revision: str | None = None, token: str | None = None) -> str:
    """Create the repo if needed and upload (resumable, split into commits by huggingface_hub)."""
    api = HfApi(token=token)
    api.create_repo(plan.repo_id, repo_type="dataset", private=private, exist_ok=True)
    if revision:
        api.create_branch(plan.repo_id, repo_type="dataset", branch=revision, exist_ok=True)
    commit = api.upload_folder(
        folder_path=plan.folder,
        repo_id=plan.repo_id,
        repo_type="dataset",
        revision=revision,
        allow_patterns=[name for name, _ in plan.files],
        commit_message=f"Upload {len(plan.files)} files with acav1m",
    )
    return commit.commit_url
