"""Publish a built dataset directory to the Hugging Face Hub (or any server speaking its API).

A push makes the repo's published files exactly the build's: files of the published layout (README.md,
croissant.json, RELEASE_NOTES.md, data/**, images/**) that the build does not have are deleted in the same
commit that adds the new ones, so a rebuilt dataset with fewer shards never streams stale rows. Other files
in the repo (a LICENSE added on the website, .gitattributes) are left alone.

Uploads are resumable: file contents are uploaded first (LFS, or Xet when `hf_xet` is installed), skipping
what the server already holds, and only then committed. A push of up to MAX_COMMIT_FILES files is one commit;
an interrupted push leaves the repo as it was and the same command resumes it. (huggingface_hub 2.4 has no
`upload_large_folder`; its `upload_folder` splits big folders into several commits, which would publish a
half-replaced release in between, hence this sequence.)

The token comes from --token, HF_TOKEN or `hf auth login`, and is never printed.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, constants, get_token
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError
from tqdm.auto import tqdm

REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
PUBLISHED = ("README.md", "croissant.json", "RELEASE_NOTES.md", "data/*/*.parquet", "images/*.png")
MANAGED_DIRS = ("data/", "images/")  # a push owns these folders in the repo, and the files below
MANAGED_FILES = ("README.md", "croissant.json", "RELEASE_NOTES.md")
MAX_COMMIT_FILES = 1000  # huggingface_hub's own largest commit batch
UPLOAD_BATCH = 64  # files whose content is uploaded per round: progress and bounded memory
BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.|\.lock$|\.lock/|^[-/.]|[/.]$")


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Network failures: huggingface_hub 2.x talks through `httpx2` (older releases through `httpx`)."""
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for module in ("httpx2", "httpx"):
        try:
            errors.append(importlib.import_module(module).TransportError)
        except ImportError:
            pass
    return tuple(errors)


TRANSPORT_ERRORS = _transport_errors()


def check_ref_name(name: str, what: str = "--revision") -> str:
    """Git's branch/tag naming rules (and `refs/pr/N`), checked before anything is sent."""
    if re.fullmatch(r"refs/pr/\d+", name) and what == "--revision":
        return name
    if not name or name == "@" or BAD_REF.search(name) or name.startswith("refs/"):
        raise ValueError(
            f"{what} {name!r} is not a valid branch or tag name (no spaces, '..', '~^:?*[\\', leading '-' or "
            "'/', trailing '.' or '/')"
        )
    return name


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
        return "\n".join(lines + [
            f"{len(self.files)} files, {self.total_bytes:,} bytes -> datasets/{self.repo_id}",
            "files of the published layout in the repo that are not listed above are deleted in the same commit",
        ])


@dataclass
class PushResult:
    commit_url: str
    uploaded: int
    deleted: list[str] = field(default_factory=list)
    commits: int = 1
    tag: str | None = None
    pr_url: str | None = None

    def describe(self) -> str:
        lines = [f"committed {self.uploaded} files in {self.commits} commit(s): {self.commit_url}"]
        if self.deleted:
            lines.append(f"deleted {len(self.deleted)} stale files: {', '.join(self.deleted[:5])}"
                         + (" ..." if len(self.deleted) > 5 else ""))
        if self.pr_url:
            lines.append(f"pull request: {self.pr_url}")
        if self.tag:
            lines.append(f"tagged {self.tag}")
        return "\n".join(lines)


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
        raise FileNotFoundError(f"{folder} has no Parquet shards under data/<config>/ (run `acav1m build`)")
    return PushPlan(folder, repo_id, tuple(files))


def is_managed(path: str) -> bool:
    return path in MANAGED_FILES or path.startswith(MANAGED_DIRS)


@contextmanager
def hub_errors(endpoint: str, repo_id: str, token: str | None = None) -> Iterator[None]:
    """Turn huggingface_hub's exceptions into one line saying what to do; the token never appears."""

    def fail(message: str) -> ValueError:
        return ValueError(message.replace(token, "<token>") if token else message)

    try:
        yield
    except RepositoryNotFoundError:
        raise fail(f"dataset repo {repo_id} was not found at {endpoint}, or this token cannot see it: check "
                   "--repo-id, or run `hf auth login` (or set HF_TOKEN) with an account that has access") from None
    except RevisionNotFoundError as error:
        raise fail(f"{repo_id}: revision not found ({_first_line(error)}); check --revision") from None
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        if status == 401:
            raise fail(f"the Hub at {endpoint} rejected the token (401 Unauthorized): run `hf auth login` or set "
                       "HF_TOKEN to a valid token with write access") from None
        if status == 403:
            raise fail(f"the token may not write to datasets/{repo_id} (403 Forbidden): use a token with write "
                       f"access to the '{repo_id.split('/')[0]}' namespace (`hf auth login` or HF_TOKEN)") from None
        raise fail(f"the Hub at {endpoint} answered {status}: {_first_line(error)}") from None
    except TRANSPORT_ERRORS as error:
        raise fail(f"cannot reach the Hub at {endpoint} ({type(error).__name__}: {_first_line(error)}): check the "
                   "network, or HF_ENDPOINT") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def push(
    plan: PushPlan,
    *,
    private: bool = False,
    revision: str | None = None,
    token: str | None = None,
    tag: str | None = None,
    commit_message: str | None = None,
    create_pr: bool = False,
) -> PushResult:
    """Upload the build and make it the repo's published files at `revision` (or in a new pull request)."""
    from croissant.metadata import dumps, hub_metadata

    if revision:
        check_ref_name(revision)
    if tag:
        check_ref_name(tag, "--tag")
    if create_pr and revision:
        raise ValueError("--create-pr opens a pull request against main: do not combine it with --revision")
    token = token or get_token()
    if not token:
        raise ValueError("no Hugging Face token: run `hf auth login` or set HF_TOKEN (or pass --token)")
    api = HfApi(token=token)
    endpoint = api.endpoint or constants.ENDPOINT
    branch = revision or constants.DEFAULT_REVISION
    with hub_errors(endpoint, plan.repo_id, token):
        api.create_repo(plan.repo_id, repo_type="dataset", private=private, exist_ok=True)
        if revision and not revision.startswith("refs/pr/"):
            api.create_branch(plan.repo_id, repo_type="dataset", branch=revision, exist_ok=True)
        if tag and any(t.name == tag for t in api.list_repo_refs(plan.repo_id, repo_type="dataset").tags):
            raise ValueError(f"tag {tag} already exists in {plan.repo_id}: choose a new --tag (a release is never "
                             "retagged, so its croissant.json keeps naming the right files)")
        head = api.repo_info(plan.repo_id, repo_type="dataset", revision=branch).sha
        remote = api.list_repo_files(plan.repo_id, repo_type="dataset", revision=head)
        # the Croissant names shards at the tag when one is made, else at the branch pushed to
        croissant = dumps(hub_metadata(plan.folder, endpoint, plan.repo_id, tag or branch)).encode()
        additions = [
            CommitOperationAdd(name, croissant if name == "croissant.json" else plan.folder / name)
            for name, _ in plan.files
        ]
        local = {name for name, _ in plan.files}
        deleted = sorted(p for p in remote if is_managed(p) and p not in local)
        with tqdm(total=len(additions), desc="upload", unit="files", disable=None) as bar:
            for start in range(0, len(additions), UPLOAD_BATCH):  # contents first: an interruption commits nothing
                batch = additions[start : start + UPLOAD_BATCH]
                api.preupload_lfs_files(plan.repo_id, batch, repo_type="dataset", revision=branch, create_pr=create_pr)
                bar.update(len(batch))
        message = commit_message or f"Publish {plan.folder.name}: {len(additions)} files" + (
            f", {len(deleted)} stale files removed" if deleted else "")
        commits = _commit(api, plan.repo_id, additions, [CommitOperationDelete(p) for p in deleted], message,
                          branch, head, create_pr)
        last = commits[-1]
        if tag:
            api.create_tag(plan.repo_id, tag=tag, revision=last.oid, repo_type="dataset")
    return PushResult(last.commit_url, len(additions), deleted, len(commits), tag, last.pr_url)


def _commit(api: HfApi, repo_id: str, additions: list[CommitOperationAdd], deletions: list[CommitOperationDelete],
            message: str, branch: str, head: str, create_pr: bool) -> list:
    """One commit when it fits; otherwise data in batches first, then card, Croissant and deletions last."""
    operations = [*deletions, *additions]
    if len(operations) <= MAX_COMMIT_FILES:
        return [api.create_commit(repo_id, operations, commit_message=message, repo_type="dataset",
                                  revision=None if create_pr else branch, create_pr=create_pr,
                                  parent_commit=None if create_pr else head)]
    if create_pr:
        raise ValueError(f"--create-pr supports up to {MAX_COMMIT_FILES} files; push to a --revision branch instead")
    data = [op for op in additions if op.path_in_repo.startswith("data/")]
    rest = [op for op in additions if not op.path_in_repo.startswith("data/")]
    commits = []
    for part, start in enumerate(range(0, len(data), MAX_COMMIT_FILES), 1):
        commits.append(api.create_commit(repo_id, data[start : start + MAX_COMMIT_FILES], repo_type="dataset",
                                         commit_message=f"{message} (data part {part})", revision=branch))
    commits.append(api.create_commit(repo_id, [*deletions, *rest], commit_message=message, repo_type="dataset",
                                     revision=branch))
    return commits
