"""A small local stand-in for the Hugging Face Hub HTTP API, for testing real client code.

`FakeHub` runs a stdlib ``ThreadingHTTPServer`` on ``127.0.0.1`` (port chosen by the OS) in a
daemon thread and speaks the subset of the Hub protocol that the *real* ``huggingface_hub``
(2.4, with ``HF_HUB_DISABLE_XET=1``) and ``datasets`` (5.2) clients use to create a dataset repo,
push a folder to it, and stream it back with ``load_dataset(repo_id, streaming=True)``.

How to use it (the lead imports the fixture into ``tests/conftest.py``)::

    from tests.fake_hub import fake_hub, run_client      # noqa: F401  (fixture re-export)

    def test_push(fake_hub, tmp_path):
        proc = run_client("from huggingface_hub import HfApi; HfApi().create_repo('org/x', "
                          "repo_type='dataset', exist_ok=True)", fake_hub)
        assert proc.returncode == 0, proc.stderr
        assert fake_hub.head("org/x")                     # commit oid of refs/heads/main

Why a subprocess: ``huggingface_hub`` reads ``HF_ENDPOINT``, ``HF_HUB_DISABLE_XET``, ``HF_TOKEN``
and ``HF_HOME`` into module constants at import time, and ``datasets`` copies the endpoint into its
own config at import. Once the test process has imported either library (any other test may have
done so), they cannot reliably be pointed at this server. ``run_client`` therefore runs the client
code with ``sys.executable -c CODE`` and an environment built by ``client_env``. (In-process,
``HfApi(endpoint=hub.endpoint, token=hub.token)`` does reach the server for repo/tree/info calls,
but ``upload_folder`` would still take the Xet path unless ``HF_HUB_DISABLE_XET=1`` was set before
the first import of ``huggingface_hub``, and ``datasets`` would still use its import-time endpoint.)

Endpoints implemented (``{type}`` is ``datasets``/``models``/``spaces``; ``{prefix}`` is ``datasets/``,
``spaces/`` or empty for models; ``{rev}`` is a branch, ``refs/pr/N``, or a full/abbreviated commit oid):

  writes (need ``Authorization: Bearer <hub.token>``)
    POST /api/repos/create                        409 + {"url"} when the repo exists (the client's
                                                  ``exist_ok=True`` relies on exactly that)
    POST /api/repos/delete
    POST /api/{type}/{repo}/preupload/{rev}       uploadMode lfs|regular, shouldIgnore, oid
    POST /{prefix}{repo}.git/info/lfs/objects/batch   basic transfer (multipart above
                                                  ``multipart_threshold`` if set)
    PUT  /_fake_lfs/upload/{oid}?sig=...          object body; sha256 + size verified
    PUT  /_fake_lfs/upload/{oid}/part/{n}?sig=... / POST /_fake_lfs/upload/{oid}?sig=... (multipart)
    POST /{prefix}{repo}.git/info/lfs/objects/verify
    POST /api/{type}/{repo}/commit/{rev}          NDJSON header/file/lfsFile/deletedFile/deletedFolder,
                                                  ?create_pr=1, parentCommit check (412)
    POST|DELETE /api/{type}/{repo}/branch/{branch}
    POST /api/{type}/{repo}/tag/{rev} {"tag"}     creates refs/tags/<tag> (409 if it exists); DELETE removes
  reads (anonymous allowed for public repos; private repos need the token)
    POST /api/validate-yaml                       parses the README front matter (see below)
    GET  /api/whoami-v2
    GET  /api/{type}/{repo}[/revision/{rev}]      id, sha, private, siblings (+size/lfs with blobs=1),
                                                  cardData (parsed README YAML), lastModified, ...
    GET  /api/{type}/{repo}/tree/{rev}[/{path}]   recursive=, expand= (lastCommit), Link pagination
    POST /api/{type}/{repo}/paths-info/{rev}      form or JSON ``paths`` + ``expand``
    GET  /api/{type}/{repo}/commits/{rev}         Link pagination
    GET  /api/{type}/{repo}/refs                  branches / converts / tags (/ pullRequests)
    HEAD|GET /{prefix}{repo}/resolve/{rev}/{path} X-Repo-Commit, ETag, X-Linked-Etag/-Size (LFS),
                                                  Content-Length, Accept-Ranges, Range -> 206
  anything else is answered 404 and recorded in ``hub.unknown_requests``.

Behaviour copied from the Hub: a new repo gets an initial commit holding the Hub's default
``.gitattributes``; preupload answers "lfs" for paths matched by an LFS rule of the
``.gitattributes`` at that revision, for files over 10 MiB and for binary samples (NUL byte), and
returns the remote ``oid`` (sha256 for LFS files, git blob sha1 otherwise) so the client skips
unchanged files - uploading an identical folder twice therefore makes *no* second commit, exactly
as on the real Hub; the commit endpoint refuses regular (non-LFS) files over 10 MiB or with binary
content, LFS pointers to objects never uploaded, and deletions of missing paths; errors carry the
``X-Error-Code`` / ``X-Error-Message`` headers that ``hf_raise_for_status`` maps to
``RepositoryNotFoundError``, ``RevisionNotFoundError``, ``RemoteEntryNotFoundError``.

What this server does NOT prove:
  * Xet storage: with ``hf_xet`` installed and ``HF_HUB_DISABLE_XET`` unset, the real client uploads
    through Xet (CAS), which this server does not implement at all. Only the classic LFS path is
    exercised.
  * Server-side card validation: ``/api/validate-yaml`` (and commits touching README.md) only check
    that the front matter parses to a mapping and that ``configs`` is structurally sane; the Hub
    also checks licence ids, task categories, size categories, ``dataset_info`` consistency, etc.
  * The dataset viewer / Parquet conversion (``refs/convert/parquet``, ``/croissant``, datasets-server)
    - none of it exists here, so "the viewer works" is not tested.
  * Rate limits, 429s/5xx retries, CDN redirects (LFS downloads are served directly, not via a 302),
    folder/file-count limits, large-file limits, and real-world network behaviour.
  * Real auth: one static bearer token is accepted for everything; no scopes, orgs, fine-grained or
    gated-access rules. LFS upload URLs are authorised by a per-object signature, like presigned S3 URLs.
  * Git itself: commits are snapshots with a parent pointer; oids are sha1s of our own serialisation,
    not real git objects (blob oids of regular files *are* git blob sha1s, as the client expects).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import fnmatch
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]

# The Hub refuses non-LFS files above this size and pushes them to LFS in preupload.
REGULAR_MAX_BYTES = 10 * 1024 * 1024
REPO_TYPES = {"datasets": "dataset", "models": "model", "spaces": "space"}
URL_PREFIX = {"dataset": "datasets/", "space": "spaces/", "model": ""}
YAML_BLOCK = re.compile(r"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")
OID_RE = re.compile(r"^[0-9a-f]{7,40}$")

# The .gitattributes the Hub writes into the initial commit of a new repo (LFS rules).
DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in (
        "*.7z *.arrow *.bin *.bz2 *.ckpt *.ftz *.gz *.h5 *.joblib *.lfs.* *.lz4 *.mds *.mlmodel "
        "*.model *.msgpack *.npy *.npz *.onnx *.ot *.parquet *.pb *.pickle *.pkl *.pt *.pth *.rar "
        "*.safetensors saved_model/**/* *.tar.* *.tar *.tflite *.tgz *.wasm *.xz *.zip *.zst "
        "*tfevents* *.pcm *.sam *.raw *.aac *.flac *.mp3 *.ogg *.wav *.bmp *.gif *.png *.tiff "
        "*.jpg *.jpeg *.webp *.mp4 *.webm"
    ).split()
)


# --------------------------------------------------------------------------------------------
# data model
# --------------------------------------------------------------------------------------------


def git_blob_sha1(data: bytes) -> str:
    """The git blob oid of ``data`` (what the Hub reports as ``oid`` for a regular file)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclasses.dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    blob_id: str  # git blob sha1 of the content (regular) or of the LFS pointer (LFS)
    lfs_oid: str | None = None  # sha256 of the content for LFS files
    pointer_size: int | None = None

    @property
    def etag(self) -> str:
        return self.lfs_oid or self.blob_id

    def remote_oid(self) -> str:
        """What preupload reports as ``oid``: sha256 for LFS files, git blob sha1 otherwise."""
        return self.lfs_oid or self.blob_id


@dataclasses.dataclass
class Commit:
    oid: str
    parent: str | None
    title: str
    message: str
    date: str
    files: dict[str, FileEntry]
    author: str


@dataclasses.dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    created_at: str
    mongo_id: str
    refs: dict[str, str] = dataclasses.field(default_factory=dict)  # "refs/heads/main" -> commit oid
    commits: dict[str, Commit] = dataclasses.field(default_factory=dict)
    n_prs: int = 0


@dataclasses.dataclass
class RequestRecord:
    """One request seen by the server. The Authorization header value is never stored."""

    method: str
    path: str  # URL path, percent-decoded, without the query string
    query: dict[str, list[str]]  # query params; upload signatures are redacted
    route: str  # endpoint template, e.g. "POST /api/{type}/{repo}/commit/{rev}", or "UNKNOWN"
    status: int
    authenticated: bool  # a valid bearer token was presented
    repo_id: str | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}


def _repo_not_found(status: int = 404) -> HubError:
    return HubError(status, "Repository not found", "RepoNotFound")


# --------------------------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------------------------


class FakeHub:
    """In-memory Hub (metadata) with content-addressed blob storage under ``storage_dir``.

    Attributes for tests: ``endpoint`` (``http://127.0.0.1:PORT``), ``token``, ``storage_dir``,
    ``requests`` (list of :class:`RequestRecord`), ``unknown_requests`` (subset with route UNKNOWN),
    ``errors`` (tracebacks of server-side exceptions: should stay empty), ``user``.
    """

    def __init__(
        self,
        storage_dir: str | os.PathLike,
        token: str | None = None,
        *,
        user: str = "fake-user",
        max_body_bytes: int = 4 * 1024**3,
        max_json_bytes: int = 512 * 1024**2,
        multipart_threshold: int | None = None,
        multipart_chunk_size: int = 8 * 1024**2,
        tree_page_size: int = 1000,
        tree_expand_page_size: int = 50,
        commits_page_size: int = 50,
        request_timeout: float = 60.0,
        max_lifetime: float | None = 1800.0,
    ):
        self.storage_dir = Path(storage_dir)
        self.token = token or "hf_fake_" + secrets.token_hex(16)
        self.user = user
        self.max_body_bytes = max_body_bytes
        self.max_json_bytes = max_json_bytes
        self.multipart_threshold = multipart_threshold
        self.multipart_chunk_size = multipart_chunk_size
        self.tree_page_size = tree_page_size
        self.tree_expand_page_size = tree_expand_page_size
        self.commits_page_size = commits_page_size
        self.request_timeout = request_timeout
        self.max_lifetime = max_lifetime
        self.requests: list[RequestRecord] = []
        self.forbidden_namespaces: set[str] = set()  # creating a repo there answers 403, as for another's org
        self.errors: list[str] = []
        self.repos: dict[tuple[str, str], Repo] = {}
        self._lock = threading.RLock()
        self._sig_key = secrets.token_bytes(32)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self._counter = 0
        self.endpoint = ""
        for sub in ("lfs", "blobs", "tmp"):
            (self.storage_dir / sub).mkdir(parents=True, exist_ok=True)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            timeout = hub.request_timeout

        Handler.hub = hub
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="fake-hub", daemon=True
        )
        self._thread.start()
        if self.max_lifetime:
            self._timer = threading.Timer(self.max_lifetime, self.stop)
            self._timer.daemon = True
            self._timer.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---------------------------------------------------------------- inspection helpers
    def repo(self, repo_id: str, repo_type: str = "dataset") -> Repo:
        return self.repos[(repo_type, repo_id)]

    def head(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> str:
        with self._lock:
            return self._resolve_rev(self.repo(repo_id, repo_type), revision).oid

    def commits(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> list[Commit]:
        """Commits reachable from ``revision``, newest first."""
        with self._lock:
            repo = self.repo(repo_id, repo_type)
            return list(self._history(repo, self._resolve_rev(repo, revision)))

    def list_files(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> list[str]:
        with self._lock:
            return sorted(self._resolve_rev(self.repo(repo_id, repo_type), revision).files)

    def file_entry(self, repo_id: str, path: str, revision: str = "main", repo_type: str = "dataset") -> FileEntry:
        with self._lock:
            return self._resolve_rev(self.repo(repo_id, repo_type), revision).files[path]

    def read_file(self, repo_id: str, path: str, revision: str = "main", repo_type: str = "dataset") -> bytes:
        """Content of ``path`` at ``revision`` as stored by the server (LFS object or git blob)."""
        return self._blob_path(self.file_entry(repo_id, path, revision, repo_type)).read_bytes()

    def routes(self, *, only_known: bool = False) -> list[str]:
        """Distinct endpoint templates the clients called, in first-call order."""
        seen: dict[str, None] = {}
        for r in list(self.requests):
            if not (only_known and r.route == "UNKNOWN"):
                seen.setdefault(r.route if r.route != "UNKNOWN" else f"UNKNOWN {r.method} {r.path}", None)
        return list(seen)

    @property
    def unknown_requests(self) -> list[RequestRecord]:
        return [r for r in list(self.requests) if r.route == "UNKNOWN"]

    def create_repo_direct(self, repo_id: str, repo_type: str = "dataset", private: bool = False) -> Repo:
        """Create a repo without HTTP (test setup)."""
        with self._lock:
            return self._create_repo(repo_type, repo_id, private)

    # ---------------------------------------------------------------- storage
    def _lfs_path(self, oid: str) -> Path:
        return self.storage_dir / "lfs" / oid[:2] / oid

    def _blob_path(self, entry: FileEntry) -> Path:
        if entry.lfs_oid:
            return self._lfs_path(entry.lfs_oid)
        return self.storage_dir / "blobs" / entry.blob_id[:2] / entry.blob_id

    def _store_regular(self, path: str, data: bytes) -> FileEntry:
        entry = FileEntry(path=path, size=len(data), blob_id=git_blob_sha1(data))
        target = self._blob_path(entry)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.storage_dir / "tmp" / secrets.token_hex(8)
            tmp.write_bytes(data)
            os.replace(tmp, target)
        return entry

    @staticmethod
    def _lfs_entry(path: str, oid: str, size: int) -> FileEntry:
        pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n".encode()
        return FileEntry(path, size, git_blob_sha1(pointer), lfs_oid=oid, pointer_size=len(pointer))

    def _lfs_size(self, oid: str) -> int | None:
        p = self._lfs_path(oid)
        return p.stat().st_size if p.exists() else None

    def _sign(self, oid: str) -> str:
        return hmac.new(self._sig_key, oid.encode(), hashlib.sha256).hexdigest()[:32]

    # ---------------------------------------------------------------- repo state (hold the lock)
    def _next_oid(self, *parts: Any) -> str:
        self._counter += 1
        return hashlib.sha1(json.dumps([self._counter, time.time(), *parts], default=str).encode()).hexdigest()

    def _create_repo(self, repo_type: str, repo_id: str, private: bool) -> Repo:
        repo = Repo(repo_type, repo_id, private, _now_iso(), secrets.token_hex(12))
        files = {".gitattributes": self._store_regular(".gitattributes", DEFAULT_GITATTRIBUTES.encode())}
        commit = Commit(self._next_oid(repo_id), None, "initial commit", "", _now_iso(), files, self.user)
        repo.commits[commit.oid] = commit
        repo.refs["refs/heads/main"] = commit.oid
        self.repos[(repo_type, repo_id)] = repo
        return repo

    def _resolve_rev(self, repo: Repo, rev: str) -> Commit:
        for ref in (rev, f"refs/heads/{rev}", f"refs/tags/{rev}"):
            if ref in repo.refs:
                return repo.commits[repo.refs[ref]]
        if OID_RE.match(rev):
            hits = [c for oid, c in repo.commits.items() if oid.startswith(rev)]
            if len(hits) == 1:
                return hits[0]
        raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")

    def _branch_ref(self, repo: Repo, rev: str) -> str:
        """The ref a commit to ``rev`` moves; only branches and PR refs can be committed to."""
        for ref in (rev, f"refs/heads/{rev}"):
            if ref in repo.refs and (ref.startswith(("refs/heads/", "refs/pr/"))):
                return ref
        if OID_RE.match(rev) or rev.startswith("refs/"):
            raise HubError(400, f"Invalid rev id: {rev} is not a branch", "RevisionNotFound")
        raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")

    def _history(self, repo: Repo, commit: Commit) -> Iterator[Commit]:
        c: Commit | None = commit
        while c is not None:
            yield c
            c = repo.commits.get(c.parent) if c.parent else None

    @staticmethod
    def _is_dir(commit: Commit, path: str) -> bool:
        prefix = path.rstrip("/") + "/" if path else ""
        return any(p.startswith(prefix) for p in commit.files)

    @staticmethod
    def _tree_oid(commit: Commit, path: str) -> str:
        prefix = path + "/" if path else ""
        h = hashlib.sha1(b"tree")
        for p in sorted(commit.files):
            if p.startswith(prefix):
                h.update(f"{p}\0{commit.files[p].blob_id}\n".encode())
        return h.hexdigest()

    def _last_commit(self, repo: Repo, head: Commit, path: str, is_dir: bool) -> dict:
        def key(c: Commit):
            return self._tree_oid(c, path) if is_dir and self._is_dir(c, path) else c.files.get(path)

        cur, cur_key = head, key(head)
        while cur.parent and cur.parent in repo.commits:
            parent = repo.commits[cur.parent]
            if key(parent) != cur_key:
                break
            cur = parent
        return {"id": cur.oid, "title": cur.title, "date": cur.date}

    def _entry_json(self, repo: Repo, head: Commit, path: str, expand: bool) -> dict:
        entry = head.files.get(path)
        if entry is not None:
            out: dict[str, Any] = {"type": "file", "oid": entry.blob_id, "size": entry.size, "path": path}
            if entry.lfs_oid:
                out["lfs"] = {"oid": entry.lfs_oid, "size": entry.size, "pointerSize": entry.pointer_size}
        else:
            out = {"type": "directory", "oid": self._tree_oid(head, path), "size": 0, "path": path}
        if expand:
            out["lastCommit"] = self._last_commit(repo, head, path, entry is None)
            if entry is not None:
                out["securityFileStatus"] = {"status": "safe", "avScan": {"virusFound": False}, "pickleImportScan": None}
        return out

    def _tree_paths(self, head: Commit, path: str, recursive: bool) -> list[str]:
        prefix = path + "/" if path else ""
        files = [p for p in head.files if p.startswith(prefix)]
        out: set[str] = set()
        for p in files:
            rest = p[len(prefix):].split("/")
            if recursive:
                for i in range(1, len(rest)):
                    out.add(prefix + "/".join(rest[:i]))
                out.add(p)
            else:
                out.add(prefix + rest[0])
        return sorted(out)

    def _card_data(self, commit: Commit) -> dict | None:
        entry = commit.files.get("README.md")
        if entry is None:
            return None
        try:
            meta = _parse_front_matter(self._blob_path(entry).read_text("utf-8"))
        except Exception:
            return None
        return meta or None

    def _repo_json(self, repo: Repo, head: Commit, params: dict[str, list[str]]) -> dict:
        blobs = _truthy(params.get("blobs"))
        siblings = []
        for path in sorted(head.files):
            e = head.files[path]
            s: dict[str, Any] = {"rfilename": path}
            if blobs:
                s.update(size=e.size, blobId=e.blob_id)
                if e.lfs_oid:
                    s["lfs"] = {"sha256": e.lfs_oid, "size": e.size, "pointerSize": e.pointer_size}
            siblings.append(s)
        namespace = repo.repo_id.split("/")[0]
        out: dict[str, Any] = {
            "_id": repo.mongo_id,
            "id": repo.repo_id,
            "author": namespace,
            "sha": head.oid,
            "lastModified": head.date,
            "createdAt": repo.created_at,
            "private": repo.private,
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "siblings": siblings,
            "usedStorage": sum(e.size for e in head.files.values()),
        }
        if repo.repo_type == "model":
            out["modelId"] = repo.repo_id
        card = self._card_data(head)
        if card is not None:
            out["cardData"] = card
        expand = params.get("expand") or params.get("expand[]")
        if expand:
            out = {k: v for k, v in out.items() if k in set(expand) | {"_id", "id"}}
        return out


def _truthy(values: list[str] | None) -> bool:
    return bool(values) and values[-1].lower() in ("1", "true", "yes", "on")


def _parse_front_matter(text: str) -> dict:
    m = YAML_BLOCK.search(text)
    if not m:
        return {}
    data = yaml.safe_load(m.group(2))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("YAML metadata must be a mapping")
    return data


def _check_configs(meta: dict) -> list[str]:
    """Light structural check of ``configs`` (the real Hub validates much more)."""
    errors = []
    configs = meta.get("configs")
    if configs is None:
        return errors
    if not isinstance(configs, list):
        return ['"configs" must be an array']
    names = []
    for i, cfg in enumerate(configs):
        if not isinstance(cfg, dict) or not isinstance(cfg.get("config_name"), str):
            errors.append(f'"configs[{i}].config_name" is required and must be a string')
            continue
        names.append(cfg["config_name"])
        df = cfg.get("data_files")
        ok = df is None or isinstance(df, str) or (
            isinstance(df, list)
            and all(
                isinstance(x, str)
                or (isinstance(x, dict) and isinstance(x.get("split"), str) and isinstance(x.get("path"), (str, list)))
                for x in df
            )
        )
        if not ok:
            errors.append(f'"configs[{i}].data_files" must be a string, a list of strings or of {{split, path}}')
    if len(set(names)) != len(names):
        errors.append('"configs" has duplicate config_name values')
    return errors


def _gitattributes_lfs_patterns(text: str) -> list[str]:
    pats = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if "filter=lfs" in parts[1:]:
            pats.append(parts[0])
    return pats


def _match_git_pattern(pattern: str, path: str) -> bool:
    if "/" not in pattern.rstrip("/"):
        return fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)
    pattern = pattern.lstrip("/")
    regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
    regex = regex.replace(r"\?", "[^/]")
    return re.fullmatch(regex, path) is not None


def _is_binary(sample: bytes) -> bool:
    return b"\0" in sample


# --------------------------------------------------------------------------------------------
# request handler
# --------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub
    protocol_version = "HTTP/1.1"
    server_version = "FakeHub/1.0"

    # ------------------------------------------------------------- plumbing
    def log_message(self, format: str, *args: Any) -> None:  # silence stderr access log
        pass

    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _dispatch(self) -> None:
        hub = self.hub
        split = urlsplit(self.path)
        self.raw_path = split.path
        self.params = parse_qs(split.query, keep_blank_values=True)
        self._status = 0
        self._body_consumed = False
        self._route = "UNKNOWN"
        self._repo_id: str | None = None
        self.authenticated = self._check_auth()
        try:
            if self.authenticated is None:
                raise HubError(401, "Invalid credentials in Authorization header")
            self._route_request()
        except HubError as e:
            self._send_error(e)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        except Exception:
            hub.errors.append(f"{self.command} {self.raw_path}\n{traceback.format_exc()}")
            with contextlib.suppress(Exception):
                self._send_error(HubError(500, "Internal error in FakeHub"))
        finally:
            query = {k: (["<redacted>"] if k == "sig" else v) for k, v in self.params.items()}
            with hub._lock:
                hub.requests.append(
                    RequestRecord(
                        self.command, unquote(self.raw_path), query, self._route, self._status,
                        bool(self.authenticated), self._repo_id,
                    )
                )

    def send_response(self, code: int, message: str | None = None) -> None:
        self._status = code
        super().send_response(code, message)

    def _check_auth(self) -> bool | None:
        """True: valid token; False: no token; None: a token that is not ours."""
        value = self.headers.get("Authorization")
        if not value:
            return False
        scheme, _, tok = value.partition(" ")
        if scheme.lower() != "bearer" or not tok.strip():
            return None
        return True if hmac.compare_digest(tok.strip().encode(), self.hub.token.encode()) else None

    def _require_auth(self) -> None:
        if not self.authenticated:
            raise HubError(401, "Authorization header is required for this operation")

    # ---- bodies (Content-Length or chunked), bounded
    def _iter_body(self, limit: int) -> Iterator[bytes]:
        self._body_consumed = True
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            total = 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                total += size
                if total > limit:
                    self.close_connection = True
                    raise HubError(413, "Request body too large")
                yield from self._read_exactly(size)
                self.rfile.readline(3)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            if length > limit:
                self.close_connection = True
                raise HubError(413, "Request body too large")
            yield from self._read_exactly(length)

    def _read_exactly(self, size: int) -> Iterator[bytes]:
        remaining = size
        while remaining:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                raise ConnectionResetError
            remaining -= len(chunk)
            yield chunk

    def _read_body(self) -> bytes:
        return b"".join(self._iter_body(self.hub.max_json_bytes))

    def _read_json(self) -> Any:
        raw = self._read_body()
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            raise HubError(400, "Invalid JSON body") from None

    def _drain(self) -> None:
        if self._body_consumed:
            return
        te = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        length = int(self.headers.get("Content-Length") or 0)
        if te or length > 16 * 1024**2:
            self.close_connection = True  # don't read big/unknown bodies just to throw them away
            return
        for _ in self._iter_body(length):
            pass

    # ---- responses
    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, content_type: str = "application/json") -> None:
        self._drain()
        self.send_response(status)
        hdrs = {"Content-Type": content_type, "Content-Length": str(len(body))}
        hdrs.update(headers or {})
        for k, v in hdrs.items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _send_json(self, obj: Any, status: int = 200, headers: dict | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers)

    def _send_error(self, e: HubError) -> None:
        headers = {"X-Error-Message": e.message.encode("ascii", "replace").decode(), **e.headers}
        if e.code:
            headers["X-Error-Code"] = e.code
        self._send_json({"error": e.message}, e.status, headers)

    def _link_next(self, offset: int) -> dict:
        q = {k: v for k, v in self.params.items() if k != "cursor"}
        q["cursor"] = [str(offset)]
        url = f"{self.hub.endpoint}{self.raw_path}?{urlencode(q, doseq=True)}"
        return {"Link": f'<{url}>; rel="next"'}

    # ------------------------------------------------------------- routing
    def _route_request(self) -> None:
        m = self.command
        segs = self.raw_path.split("/")[1:]  # raw (still percent-encoded) segments

        if segs[:1] == ["api"]:
            if segs[1:] == ["validate-yaml"] and m == "POST":
                return self._validate_yaml()
            if segs[1:] == ["whoami-v2"] and m == "GET":
                return self._whoami()
            if segs[1:] == ["repos", "create"] and m == "POST":
                return self._create_repo()
            if segs[1:] == ["repos", "delete"] and m in ("POST", "DELETE"):
                return self._delete_repo()
            if len(segs) >= 4 and segs[1] in REPO_TYPES:
                repo_type = REPO_TYPES[segs[1]]
                repo_id = f"{unquote(segs[2])}/{unquote(segs[3])}"
                self._repo_id = repo_id
                rest = segs[4:]
                tpl = "/api/{type}/{repo}"
                if not rest and m == "GET":
                    self._route = f"GET {tpl}"
                    return self._repo_info(repo_type, repo_id, "main")
                op = rest[0] if rest else ""
                if op == "revision" and len(rest) >= 2 and m == "GET":
                    self._route = f"GET {tpl}/revision/{{rev}}"
                    return self._repo_info(repo_type, repo_id, _join_rev(rest[1:]))
                if op == "tree" and len(rest) >= 2 and m == "GET":
                    self._route = f"GET {tpl}/tree/{{rev}}[/{{path}}]"
                    rev, path = _split_rev_path(rest[1:])
                    return self._tree(repo_type, repo_id, rev, path)
                if op == "paths-info" and len(rest) >= 2 and m == "POST":
                    self._route = f"POST {tpl}/paths-info/{{rev}}"
                    return self._paths_info(repo_type, repo_id, _join_rev(rest[1:]))
                if op == "commits" and len(rest) >= 2 and m == "GET":
                    self._route = f"GET {tpl}/commits/{{rev}}"
                    return self._list_commits(repo_type, repo_id, _join_rev(rest[1:]))
                if op == "refs" and len(rest) == 1 and m == "GET":
                    self._route = f"GET {tpl}/refs"
                    return self._refs(repo_type, repo_id)
                if op == "preupload" and len(rest) >= 2 and m == "POST":
                    self._route = f"POST {tpl}/preupload/{{rev}}"
                    return self._preupload(repo_type, repo_id, _join_rev(rest[1:]))
                if op == "commit" and len(rest) >= 2 and m == "POST":
                    self._route = f"POST {tpl}/commit/{{rev}}"
                    return self._commit(repo_type, repo_id, _join_rev(rest[1:]))
                if op == "branch" and len(rest) >= 2 and m in ("POST", "DELETE"):
                    self._route = f"{m} {tpl}/branch/{{branch}}"
                    return self._branch(repo_type, repo_id, _join_rev(rest[1:]))
                if op == "tag" and len(rest) >= 2 and m in ("POST", "DELETE"):
                    self._route = f"{m} {tpl}/tag/{{rev}}"
                    return self._tag(repo_type, repo_id, _join_rev(rest[1:]))
        elif segs[:2] == ["_fake_lfs", "upload"] and len(segs) >= 3:
            return self._lfs_upload(segs[2:])
        else:
            # /{prefix}{ns}/{name}.git/info/lfs/objects/{batch,verify} and /{prefix}{ns}/{name}/resolve/...
            repo_type = "model"
            if segs and segs[0] in REPO_TYPES and len(segs) >= 3:
                repo_type, segs = REPO_TYPES[segs[0]], segs[1:]
            prefix = "/" + URL_PREFIX[repo_type] if repo_type != "model" else "/"
            if len(segs) == 6 and segs[1].endswith(".git") and segs[2:5] == ["info", "lfs", "objects"] and m == "POST":
                repo_id = f"{unquote(segs[0])}/{unquote(segs[1][:-4])}"
                self._repo_id = repo_id
                if segs[5] == "batch":
                    self._route = f"POST {prefix}{{repo}}.git/info/lfs/objects/batch"
                    return self._lfs_batch(repo_type, repo_id)
                if segs[5] == "verify":
                    self._route = f"POST {prefix}{{repo}}.git/info/lfs/objects/verify"
                    return self._lfs_verify(repo_type, repo_id)
            if len(segs) >= 5 and segs[2] == "resolve" and m in ("GET", "HEAD"):
                repo_id = f"{unquote(segs[0])}/{unquote(segs[1])}"
                self._repo_id = repo_id
                self._route = f"{m} {prefix}{{repo}}/resolve/{{rev}}/{{path}}"
                rev, path = _split_rev_path(segs[3:])
                return self._resolve(repo_type, repo_id, rev, path)
        raise HubError(404, f"FakeHub: no route for {m} {unquote(self.raw_path)}")

    # ------------------------------------------------------------- helpers for handlers
    def _get_repo(self, repo_type: str, repo_id: str, *, write: bool = False) -> Repo:
        if write:
            self._require_auth()
        repo = self.hub.repos.get((repo_type, repo_id))
        if repo is None:
            raise _repo_not_found()
        if repo.private and not self.authenticated:
            raise HubError(401, "Invalid username or password.", "RepoNotFound")
        return repo

    # ------------------------------------------------------------- account / yaml
    def _whoami(self) -> None:
        self._route = "GET /api/whoami-v2"
        self._require_auth()
        hub = self.hub
        self._send_json(
            {
                "type": "user", "id": "0" * 24, "name": hub.user, "fullname": hub.user,
                "orgs": [], "auth": {"type": "access_token", "accessToken": {"displayName": "fake", "role": "write"}},
            }
        )

    def _validate_yaml(self) -> None:
        self._route = "POST /api/validate-yaml"
        body = self._read_json()
        content = body.get("content", "") if isinstance(body, dict) else ""
        errors, warnings = [], []
        try:
            meta = _parse_front_matter(content)
            if not meta:
                warnings.append({"message": "Empty or missing yaml metadata in repo card"})
            errors += [{"message": msg} for msg in _check_configs(meta)]
        except Exception as exc:  # YAML syntax error or not a mapping
            errors.append({"message": f"Invalid YAML in README.md: {exc}"})
        self._send_json({"errors": errors, "warnings": warnings}, 400 if errors else 200)

    # ------------------------------------------------------------- repos
    def _create_repo(self) -> None:
        self._route = "POST /api/repos/create"
        self._require_auth()
        body = self._read_json()
        hub = self.hub
        name = body.get("name")
        org = body.get("organization") or hub.user
        repo_type = body.get("type") or "model"
        if not name or repo_type not in URL_PREFIX or "/" in name:
            raise HubError(400, "Invalid repo name or type")
        repo_id = f"{org}/{name}"
        self._repo_id = repo_id
        if org in hub.forbidden_namespaces:
            raise HubError(403, f"You don't have the rights to create a {repo_type} under the namespace \"{org}\".")
        private = body.get("visibility") == "private" or bool(body.get("private"))
        url = f"{hub.endpoint}/{URL_PREFIX[repo_type]}{repo_id}"
        with hub._lock:
            if (repo_type, repo_id) in hub.repos:
                self._send_json({"error": f"You already created this {repo_type} repo", "url": url}, 409,
                                {"X-Error-Message": f"You already created this {repo_type} repo"})
                return
            repo = hub._create_repo(repo_type, repo_id, private)
        self._send_json({"url": url, "name": repo_id, "id": repo.mongo_id})

    def _delete_repo(self) -> None:
        self._route = f"{self.command} /api/repos/delete"
        self._require_auth()
        body = self._read_json()
        hub = self.hub
        repo_id = f"{body.get('organization') or hub.user}/{body.get('name')}"
        self._repo_id = repo_id
        with hub._lock:
            if hub.repos.pop((body.get("type") or "model", repo_id), None) is None:
                raise _repo_not_found()
        self._send(200, b"", content_type="text/plain")

    def _repo_info(self, repo_type: str, repo_id: str, rev: str) -> None:
        hub = self.hub
        with hub._lock:
            repo = self._get_repo(repo_type, repo_id)
            out = hub._repo_json(repo, hub._resolve_rev(repo, rev), self.params)
        self._send_json(out)

    def _refs(self, repo_type: str, repo_id: str) -> None:
        hub = self.hub
        with hub._lock:
            repo = self._get_repo(repo_type, repo_id)
            refs = dict(repo.refs)
        out: dict[str, list] = {"branches": [], "converts": [], "tags": []}
        prs = []
        for ref, oid in sorted(refs.items()):
            if ref.startswith("refs/heads/"):
                out["branches"].append({"name": ref[11:], "ref": ref, "targetCommit": oid})
            elif ref.startswith("refs/tags/"):
                out["tags"].append({"name": ref[10:], "ref": ref, "targetCommit": oid})
            elif ref.startswith("refs/pr/"):
                prs.append({"name": ref[8:], "ref": ref, "targetCommit": oid})
        if _truthy(self.params.get("include_prs")):
            out["pullRequests"] = prs
        self._send_json(out)

    def _branch(self, repo_type: str, repo_id: str, branch: str) -> None:
        hub = self.hub
        body = self._read_json() if self.command == "POST" else {}
        with hub._lock:
            repo = self._get_repo(repo_type, repo_id, write=True)
            ref = f"refs/heads/{branch}"
            if self.command == "DELETE":
                if ref not in repo.refs:
                    raise HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
                if branch == "main":
                    raise HubError(403, "Cannot delete the default branch")
                del repo.refs[ref]
                return self._send_json({})
            if ref in repo.refs:
                raise HubError(409, f"Reference already exists: {ref}")
            start = (body or {}).get("startingPoint") or "main"
            repo.refs[ref] = hub._resolve_rev(repo, start).oid
        self._send_json({})

    def _tag(self, repo_type: str, repo_id: str, rev: str) -> None:
        """POST tags the commit `rev` resolves to with body {"tag"}; DELETE removes the tag named `rev`."""
        hub = self.hub
        body = self._read_json() if self.command == "POST" else {}
        with hub._lock:
            repo = self._get_repo(repo_type, repo_id, write=True)
            if self.command == "DELETE":
                if repo.refs.pop(f"refs/tags/{rev}", None) is None:
                    raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
                return self._send_json({})
            tag = (body or {}).get("tag") or ""
            if not tag or tag.startswith("-") or ".." in tag or " " in tag:
                raise HubError(400, f"Invalid tag name: {tag!r}")
            ref = f"refs/tags/{tag}"
            if ref in repo.refs:
                raise HubError(409, f"Tag already exists: {tag}")
            repo.refs[ref] = hub._resolve_rev(repo, rev).oid
        self._send_json({})

    def _list_commits(self, repo_type: str, repo_id: str, rev: str) -> None:
        hub = self.hub
        with hub._lock:
            repo = self._get_repo(repo_type, repo_id)
            history = list(hub._history(repo, hub._resolve_rev(repo, rev)))
        offset = int((self.params.get("cursor") or ["0"])[0])
        page = history[offset : offset + hub.commits_page_size]
        items = [
            {"id": c.oid, "title": c.title, "message": c.message, "date": c.date,
             "authors": [{"user": c.author}], "parents": [c.parent] if c.parent else []}
            for c in page
        ]
        more = offset + len(page) < len(history)
        self._send_json(items, headers=self._link_next(offset + len(page)) if more else None)

    # ------------------------------------------------------------- tree / paths-info
    def _tree(self, repo_type: str, repo_id: str, rev: str, path: str) -> None:
        hub = self.hub
        recursive = _truthy(self.params.get("recursive"))
        expand = _truthy(self.params.get("expand"))
        path = path.strip("/")
        with hub._lock:
            repo = self._get_repo(repo_type, repo_id)
            head = hub._resolve_rev(repo, rev)
            if path and not hub._is_dir(head, path):
                raise HubError(404, f"Entry not found: {path}" if path not in head.files else f"{path} is not a folder",
                               "EntryNotFound")
            paths = hub._tree_paths(head, path, recursive)
            offset = int((self.params.get("cursor") or ["0"])[0])
            size = hub.tree_expand_page_size if expand else hub.tree_page_size
            page = [hub._entry_json(repo, head, p, expand) for p in paths[offset : offset + size]]
        more = offset + size < len(paths)
        self._send_json(page, headers=self._link_next(offset + size) if more else None)

    def _paths_info(self, repo_type: str, repo_id: str, rev: str) -> None:
        hub = self.hub
        ctype = self.headers.get("Content-Type", "")
        raw = self._read_body()
        if "json" in ctype:
            body = json.loads(raw or b"{}")
            paths, expand = body.get("paths", []), bool(body.get("expand"))
        else:
            form = parse_qs(raw.decode(), keep_blank_values=True)
            paths, expand = form.get("paths", []), _truthy(form.get("expand"))
        if isinstance(paths, str):
            paths = [paths]
        with hub._lock:
            repo = self._get_repo(repo_type, repo_id)
            head = hub._resolve_rev(repo, rev)
            out = []
            for p in paths:
                p = p.strip("/")
                if p in head.files or (p and hub._is_dir(head, p)):
                    out.append(hub._entry_json(repo, head, p, expand))
        self._send_json(out)

    # ------------------------------------------------------------- downloads
    def _resolve(self, repo_type: str, repo_id: str, rev: str, path: str) -> None:
        hub = self.hub
        with hub._lock:
            repo = self._get_repo(repo_type, repo_id)
            head = hub._resolve_rev(repo, rev)
            entry = head.files.get(path)
        if entry is None:
            raise HubError(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": head.oid})
        blob = hub._blob_path(entry)
        size = entry.size
        headers = {
            "X-Repo-Commit": head.oid,
            "ETag": f'"{entry.etag}"',
            "Accept-Ranges": "bytes",
            "Cache-Control": "private, max-age=0" if repo.private else "public, max-age=3600",
        }
        if entry.lfs_oid:
            headers["X-Linked-Etag"] = f'"{entry.lfs_oid}"'
            headers["X-Linked-Size"] = str(size)
        start, end, status = 0, size - 1, 200
        rng = self.headers.get("Range")
        if rng:
            m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", rng)
            if m and (m.group(1) or m.group(2)):
                if m.group(1):
                    start = int(m.group(1))
                    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                else:
                    start, end = max(size - int(m.group(2)), 0), size - 1
                if start >= size or start > end:
                    raise HubError(416, "Range Not Satisfiable", headers={"Content-Range": f"bytes */{size}"})
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(end - start + 1, 0)
        ctype = "text/plain; charset=utf-8" if path.endswith((".md", ".txt", ".json")) and not entry.lfs_oid else "application/octet-stream"
        self._drain()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD" or length == 0:
            return
        with open(blob, "rb") as f:
            f.seek(start)
            remaining = length
            while remaining:
                chunk = f.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)

    # ------------------------------------------------------------- uploads
    def _preupload(self, repo_type: str, repo_id: str, rev: str) -> None:
        hub = self.hub
        body = self._read_json()
        files = body.get("files")
        if not isinstance(files, list):
            raise HubError(400, '"files" must be an array')
        with hub._lock:
            repo = self._get_repo(repo_type, repo_id, write=True)
            base = hub._resolve_rev(repo, rev)
            ga = base.files.get(".gitattributes")
            patterns = _gitattributes_lfs_patterns(hub._blob_path(ga).read_text("utf-8")) if ga else []
            existing = dict(base.files)
        ignore_patterns = [
            ln.strip() for ln in (body.get("gitIgnore") or "").splitlines() if ln.strip() and not ln.startswith("#")
        ]
        out = []
        for f in files:
            path, size = f.get("path"), f.get("size", 0)
            sample = base64.b64decode(f.get("sample") or "")
            lfs = (
                any(_match_git_pattern(p, path) for p in patterns)
                or size > REGULAR_MAX_BYTES
                or _is_binary(sample)
            )
            info: dict[str, Any] = {
                "path": path,
                "uploadMode": "lfs" if lfs else "regular",
                "shouldIgnore": any(_match_git_pattern(p, path) for p in ignore_patterns),
            }
            if path in existing:
                info["oid"] = existing[path].remote_oid()
            out.append(info)
        self._send_json({"files": out, "commitOid": base.oid})

    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        hub = self.hub
        body = self._read_json()
        with hub._lock:
            self._get_repo(repo_type, repo_id, write=True)
        if body.get("operation") != "upload":
            raise HubError(400, "FakeHub only implements the upload operation of the LFS batch API")
        objects = []
        verify_href = f"{hub.endpoint}/{URL_PREFIX[repo_type]}{repo_id}.git/info/lfs/objects/verify"
        for obj in body.get("objects", []):
            oid, size = obj.get("oid"), obj.get("size")
            if not (isinstance(oid, str) and re.fullmatch(r"[0-9a-f]{64}", oid) and isinstance(size, int) and size >= 0):
                objects.append({"oid": str(oid), "size": int(size or 0), "error": {"code": 422, "message": "Invalid oid or size"}})
                continue
            if size > hub.max_body_bytes:
                objects.append({"oid": oid, "size": size, "error": {"code": 422, "message": "Object too large for FakeHub"}})
                continue
            if hub._lfs_size(oid) == size:
                objects.append({"oid": oid, "size": size})  # already stored: no actions
                continue
            sig = hub._sign(oid)
            href = f"{hub.endpoint}/_fake_lfs/upload/{oid}?{urlencode({'size': size, 'sig': sig})}"
            upload: dict[str, Any] = {"href": href, "header": {}}
            if hub.multipart_threshold is not None and size >= hub.multipart_threshold:
                chunk = hub.multipart_chunk_size
                n = max(1, -(-size // chunk))
                upload["header"] = {"chunk_size": str(chunk)}
                for i in range(1, n + 1):
                    upload["header"][f"{i:05d}"] = (
                        f"{hub.endpoint}/_fake_lfs/upload/{oid}/part/{i}?{urlencode({'size': size, 'sig': sig})}"
                    )
            objects.append(
                {
                    "oid": oid, "size": size, "authenticated": True,
                    "actions": {"upload": upload, "verify": {"href": verify_href, "header": {}}},
                }
            )
        self._send(200, json.dumps({"transfer": "basic", "objects": objects, "hash_algo": "sha256"}).encode(),
                   content_type="application/vnd.git-lfs+json")

    def _lfs_upload(self, rest: list[str]) -> None:
        hub = self.hub
        oid = rest[0]
        sig = (self.params.get("sig") or [""])[0]
        try:
            size = int((self.params.get("size") or ["-1"])[0])
        except ValueError:
            size = -1
        is_part = len(rest) == 3 and rest[1] == "part" and self.command == "PUT"
        is_complete = len(rest) == 1 and self.command == "POST"
        self._route = (
            "PUT /_fake_lfs/upload/{oid}/part/{n}" if is_part
            else "POST /_fake_lfs/upload/{oid} (multipart completion)" if is_complete
            else "PUT /_fake_lfs/upload/{oid}"
        )
        if not re.fullmatch(r"[0-9a-f]{64}", oid) or not hmac.compare_digest(sig, hub._sign(oid)) or size < 0:
            self.close_connection = True
            raise HubError(403, "Invalid or missing upload signature")
        parts_dir = hub.storage_dir / "tmp" / f"parts-{oid}"
        if is_part:
            parts_dir.mkdir(parents=True, exist_ok=True)
            part = int(rest[2])
            md5 = hashlib.md5()
            tmp = parts_dir / f"{part:05d}.tmp"
            with open(tmp, "wb") as f:
                for chunk in self._iter_body(hub.multipart_chunk_size):
                    md5.update(chunk)
                    f.write(chunk)
            os.replace(tmp, parts_dir / f"{part:05d}")
            return self._send(200, b"", {"ETag": f'"{md5.hexdigest()}"'}, content_type="text/plain")
        if is_complete:
            body = self._read_json()
            parts = sorted(body.get("parts", []), key=lambda p: p["partNumber"])
            files = [parts_dir / f"{p['partNumber']:05d}" for p in parts]
            if not parts or not all(f.exists() for f in files):
                raise HubError(400, "Missing multipart parts")

            def chunks() -> Iterator[bytes]:
                for fp in files:
                    with open(fp, "rb") as fh:
                        while chunk := fh.read(1 << 20):
                            yield chunk

            self._store_lfs_object(oid, size, chunks())
            shutil.rmtree(parts_dir, ignore_errors=True)
            return self._send(200, b"{}")
        if self.command != "PUT" or len(rest) != 1:
            raise HubError(404, "FakeHub: bad LFS upload URL")
        self._store_lfs_object(oid, size, self._iter_body(hub.max_body_bytes))
        self._send(200, b"", content_type="text/plain")

    def _store_lfs_object(self, oid: str, size: int, chunks: Iterator[bytes]) -> None:
        hub = self.hub
        tmp = hub.storage_dir / "tmp" / f"{oid}.{secrets.token_hex(4)}"
        h, n = hashlib.sha256(), 0
        try:
            with open(tmp, "wb") as f:
                for chunk in chunks:
                    h.update(chunk)
                    n += len(chunk)
                    f.write(chunk)
            if n != size or h.hexdigest() != oid:
                raise HubError(400, f"Uploaded object does not match: expected sha256={oid} size={size}, "
                                    f"got sha256={h.hexdigest()} size={n}")
            target = hub._lfs_path(oid)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def _lfs_verify(self, repo_type: str, repo_id: str) -> None:
        hub = self.hub
        body = self._read_json()
        with hub._lock:
            self._get_repo(repo_type, repo_id, write=True)
        oid, size = body.get("oid"), body.get("size")
        if not isinstance(oid, str) or hub._lfs_size(oid) != size:
            raise HubError(404, f"LFS object {oid} of size {size} not found")
        self._send(200, b"{}", content_type="application/vnd.git-lfs+json")

    def _commit(self, repo_type: str, repo_id: str, rev: str) -> None:
        hub = self.hub
        raw = self._read_body()
        try:
            lines = [json.loads(ln) for ln in raw.splitlines() if ln.strip()]
        except ValueError:
            raise HubError(400, "Invalid NDJSON payload") from None
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "The first line of the payload must be the commit header")
        header = lines[0].get("value") or {}
        summary = header.get("summary") or ""
        if not summary.strip():
            raise HubError(400, "Commit summary must not be empty")
        # Stage the new content (regular blobs go to storage; they are content-addressed, so
        # orphans from a rejected commit are harmless).
        ops: list[tuple[str, Any]] = []
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value") or {}
            path = (value.get("path") or "").strip("/")
            if key in ("file", "lfsFile", "deletedFile", "deletedFolder") and (not path or ".." in path.split("/")):
                raise HubError(400, f"Invalid path: {value.get('path')!r}")
            if key == "file":
                if value.get("encoding", "base64") != "base64":
                    raise HubError(400, "Only base64 encoding is supported")
                data = base64.b64decode(value.get("content") or "")
                if len(data) > REGULAR_MAX_BYTES:
                    raise HubError(400, f"Your push was rejected because it contains files larger than 10 MiB ({path}). "
                                        "Please use https://git-lfs.github.com/ to store large files.")
                if data and _is_binary(data[:8000]):
                    raise HubError(400, f"Your push was rejected because it contains binary files ({path}). "
                                        "Please use https://git-lfs.github.com/ to store binary files.")
                if path == "README.md":
                    try:
                        meta = _parse_front_matter(data.decode("utf-8"))
                    except Exception as exc:
                        raise HubError(400, f"Invalid metadata in README.md: {exc}") from exc
                    if errs := _check_configs(meta):
                        raise HubError(400, "Invalid metadata in README.md: " + "; ".join(errs))
                ops.append(("add", hub._store_regular(path, data)))
            elif key == "lfsFile":
                oid, size = value.get("oid"), value.get("size")
                if value.get("algo", "sha256") != "sha256" or not isinstance(oid, str):
                    raise HubError(400, f"Invalid LFS pointer for {path}")
                stored = hub._lfs_size(oid)
                if stored is None:
                    raise HubError(422, f"Your push was rejected because an LFS pointer pointed to a file that does "
                                        f"not exist. For instance: {path} ({oid})")
                if size is not None and size != stored:
                    raise HubError(422, f"LFS pointer size mismatch for {path}: {size} != {stored}")
                ops.append(("add", hub._lfs_entry(path, oid, stored)))
            elif key == "deletedFile":
                ops.append(("del", path))
            elif key == "deletedFolder":
                ops.append(("deldir", path))
            else:
                raise HubError(400, f"Unknown commit operation key: {key!r}")
        create_pr = _truthy(self.params.get("create_pr"))
        with hub._lock:
            repo = self._get_repo(repo_type, repo_id, write=True)
            ref = hub._branch_ref(repo, rev)
            base = repo.commits[repo.refs[ref]]
            parent_commit = header.get("parentCommit")
            if parent_commit and not base.oid.startswith(parent_commit):
                raise HubError(412, "A commit has happened since. Please refresh and try again.")
            files = dict(base.files)
            for kind, arg in ops:
                if kind == "add":
                    files[arg.path] = arg
                elif kind == "del":
                    if arg not in files:
                        raise HubError(404, f"A file with this name doesn't exist: {arg}", "EntryNotFound")
                    del files[arg]
                else:
                    victims = [p for p in files if p.startswith(arg + "/")]
                    if not victims:
                        raise HubError(404, f"A folder with this name doesn't exist: {arg}", "EntryNotFound")
                    for p in victims:
                        del files[p]
            commit = Commit(
                hub._next_oid(repo_id, base.oid, summary), base.oid, summary,
                header.get("description") or "", _now_iso(), files, hub.user,
            )
            repo.commits[commit.oid] = commit
            pr_url = None
            if create_pr:
                repo.n_prs += 1
                ref = f"refs/pr/{repo.n_prs}"
                pr_url = f"{hub.endpoint}/{URL_PREFIX[repo_type]}{repo_id}/discussions/{repo.n_prs}"
            repo.refs[ref] = commit.oid
        self._send_json(
            {
                "success": True,
                "commitOid": commit.oid,
                "commitUrl": f"{hub.endpoint}/{URL_PREFIX[repo_type]}{repo_id}/commit/{commit.oid}",
                "hookOutput": "",
                "pullRequestUrl": pr_url,
            }
        )


def _join_rev(raw_segments: list[str]) -> str:
    return unquote("/".join(raw_segments))


def _split_rev_path(raw_segments: list[str]) -> tuple[str, str]:
    """Split raw ``{rev}/{path...}`` segments; rev is normally one quoted segment, but accept the
    unquoted ``refs/pr/N``, ``refs/heads/X`` and ``refs/convert/X`` forms too."""
    n = 1
    if raw_segments[0] == "refs" and len(raw_segments) >= 3 and raw_segments[1] in ("pr", "heads", "tags", "convert"):
        n = 3
    return unquote("/".join(raw_segments[:n])), unquote("/".join(raw_segments[n:]))


# --------------------------------------------------------------------------------------------
# running the real client against it
# --------------------------------------------------------------------------------------------

_DROP_ENV_PREFIXES = ("HF_", "HUGGINGFACE_", "HUGGING_FACE_")


def client_env(hub: FakeHub, extra_env: dict[str, str] | None = None, *, token: bool = True) -> dict[str, str]:
    """Environment for a client subprocess: every HF_* variable of the parent is dropped (no
    HF_HUB_OFFLINE, no real token), then the endpoint, token, caches and HF_HUB_DISABLE_XET=1 are
    set. ``token=False`` leaves HF_TOKEN unset (anonymous client). The repo root is prepended to
    PYTHONPATH so client code can import the project's packages."""
    home = hub.storage_dir.parent / "client_home"
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_DROP_ENV_PREFIXES)}
    env.update(
        HF_ENDPOINT=hub.endpoint,
        HF_HUB_DISABLE_XET="1",
        HF_HOME=str(home / "hf_home"),
        HF_DATASETS_CACHE=str(home / "datasets_cache"),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
    )
    no_proxy = ",".join(filter(None, [env.get("NO_PROXY") or env.get("no_proxy"), "127.0.0.1", "localhost"]))
    env["NO_PROXY"] = env["no_proxy"] = no_proxy
    if token:
        env["HF_TOKEN"] = hub.token
    if extra_env:
        env.update(extra_env)
    return env


def run_client(
    code: str,
    hub: FakeHub,
    extra_env: dict[str, str] | None = None,
    *,
    token: bool = True,
    timeout: float = 300,
    cwd: str | os.PathLike | None = None,
) -> subprocess.CompletedProcess:
    """Run ``code`` with ``sys.executable -c`` against ``hub`` (see :func:`client_env`).

    The working directory defaults to an empty scratch dir so ``load_dataset("org/name")`` can
    never pick up a local folder of that name. Returns the CompletedProcess (text mode, captured
    stdout/stderr); it does not raise on a non-zero exit code.
    """
    if cwd is None:
        cwd = hub.storage_dir.parent / "client_cwd"
        Path(cwd).mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-c", code],
        env=client_env(hub, extra_env, token=token),
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def fake_hub(tmp_path) -> Iterator[FakeHub]:
    """A running :class:`FakeHub` with storage under ``tmp_path/fake_hub``; stopped at teardown."""
    hub = FakeHub(tmp_path / "fake_hub" / "storage")
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()
