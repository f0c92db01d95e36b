"""The real huggingface_hub / datasets clients against tests/fake_hub.py (see its docstring for
what this does and does not prove)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import textwrap
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

try:
    from tests.fake_hub import FakeHub, fake_hub, git_blob_sha1, run_client  # noqa: F401  (fixture)
except ImportError:  # tests/ itself on sys.path (pytest rootdir-less import)
    from fake_hub import FakeHub, fake_hub, git_blob_sha1, run_client  # noqa: F401

REPO = "org/name"
MARK = "@@RESULT@@"

README = """\
---
license: cc-by-4.0
pretty_name: Fake hub round trip
configs:
- config_name: default
  default: true
  data_files:
  - split: train
    path: data/train-*
  - split: validation
    path: data/validation-*
- config_name: candidates
  data_files:
  - split: train
    path: data/candidates/train-*
---

# Tiny test dataset
"""

SCHEMA = pa.schema(
    [
        ("video_id", pa.string()),
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("score", pa.float32()),
        ("n_frames", pa.int64()),
        ("keep", pa.bool_()),
        ("labels", pa.list_(pa.string())),
    ]
)


def _rows(prefix: str, n: int, offset: int = 0) -> list[dict]:
    return [
        {
            "video_id": f"{prefix}{i:04d}",
            "start": i * 10.0 + 0.125,
            "end": i * 10.0 + 10.125,
            "score": float(pa.array([0.1 * i], pa.float32())[0].as_py()),
            "n_frames": 250 + i,
            "keep": i % 3 != 0,
            "labels": [f"label{i % 4}", "music"] if i % 2 else [],
        }
        for i in range(offset, offset + n)
    ]


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path, row_group_size=4)


@pytest.fixture
def dataset_dir(tmp_path) -> tuple[Path, dict[str, list[dict]]]:
    root = tmp_path / "release"
    splits = {
        "train": _rows("tr", 7) + _rows("tr", 6, offset=7),
        "validation": _rows("va", 5),
        "candidates/train": _rows("ca", 9),
    }
    _write(root / "data" / "train-00000-of-00002.parquet", splits["train"][:7])
    _write(root / "data" / "train-00001-of-00002.parquet", splits["train"][7:])
    _write(root / "data" / "validation-00000-of-00001.parquet", splits["validation"])
    _write(root / "data" / "candidates" / "train-00000-of-00001.parquet", splits["candidates/train"])
    (root / "README.md").write_text(README)
    (root / "croissant.json").write_text(json.dumps({"@context": {}, "name": "tiny"}, indent=2))
    return root, splits


def _local_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _result(proc) -> dict:
    assert proc.returncode == 0, f"client failed:\nSTDOUT:\n{proc.stdout[-4000:]}\nSTDERR:\n{proc.stderr[-8000:]}"
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
    assert lines, proc.stdout
    return json.loads(lines[-1][len(MARK):])


def _client(body: str) -> str:
    return f"import json, sys\nMARK = {MARK!r}\n" + textwrap.dedent(body)


UPLOAD = _client(
    """
    from huggingface_hub import HfApi
    api = HfApi()
    url1 = api.create_repo(REPO, repo_type="dataset", private=True, exist_ok=True)
    url2 = api.create_repo(REPO, repo_type="dataset", private=True, exist_ok=True)  # 409 -> ok
    info = api.upload_folder(folder_path=FOLDER, repo_id=REPO, repo_type="dataset")
    ds_info = api.dataset_info(REPO, files_metadata=True)
    print(MARK + json.dumps({
        "url": str(url1), "url2": str(url2), "oid": info.oid, "sha": ds_info.sha,
        "private": ds_info.private,
        "siblings": {s.rfilename: {"size": s.size, "lfs": bool(s.lfs)} for s in ds_info.siblings},
        "configs": [c["config_name"] for c in ds_info.card_data.to_dict().get("configs", [])],
    }))
    """
)

LOAD = _client(
    """
    import datasets
    out = {}
    for key, kwargs in [("train", dict(split="train")), ("validation", dict(split="validation")),
                        ("candidates/train", dict(name="candidates", split="train"))]:
        ds = datasets.load_dataset(REPO, streaming=True, **kwargs)
        out[key] = list(ds)
    print(MARK + json.dumps(out))
    """
)


def test_push_and_stream_roundtrip(fake_hub: FakeHub, dataset_dir):
    root, splits = dataset_dir
    consts = f"REPO = {REPO!r}\nFOLDER = {str(root)!r}\n"

    # 1. create (private, twice: the 2nd answers 409 and exist_ok swallows it) + upload_folder
    res = _result(run_client(consts + UPLOAD, fake_hub))
    assert res["url"] == res["url2"] == f"{fake_hub.endpoint}/datasets/{REPO}"
    assert res["private"] is True
    head1 = fake_hub.head(REPO)
    assert res["oid"] == res["sha"] == head1
    assert res["configs"] == ["default", "candidates"]
    local = _local_files(root)
    assert set(res["siblings"]) == set(local) | {".gitattributes"}
    for path, data in local.items():
        assert res["siblings"][path]["size"] == len(data)
        assert res["siblings"][path]["lfs"] is path.endswith(".parquet"), path

    # server-side storage byte-matches the local folder; parquet went through LFS
    assert set(fake_hub.list_files(REPO)) == set(local) | {".gitattributes"}
    for path, data in local.items():
        assert fake_hub.read_file(REPO, path) == data, path
        entry = fake_hub.file_entry(REPO, path)
        if path.endswith(".parquet"):
            assert entry.lfs_oid == hashlib.sha256(data).hexdigest()
        else:
            assert entry.lfs_oid is None and entry.blob_id == git_blob_sha1(data)
    routes = fake_hub.routes()
    for expected in (
        "POST /api/repos/create",
        "POST /api/validate-yaml",
        "POST /api/{type}/{repo}/preupload/{rev}",
        "POST /datasets/{repo}.git/info/lfs/objects/batch",
        "PUT /_fake_lfs/upload/{oid}",
        "POST /datasets/{repo}.git/info/lfs/objects/verify",
        "POST /api/{type}/{repo}/commit/{rev}",
    ):
        assert expected in routes, (expected, routes)
    n_puts = sum(r.route == "PUT /_fake_lfs/upload/{oid}" for r in fake_hub.requests)
    assert n_puts == 4  # one per parquet file

    # 2. stream every split of both configs back with the real `datasets`
    loaded = _result(run_client(consts + LOAD, fake_hub))
    assert loaded == splits

    # 3. uploading the very same folder again works; like on the real Hub, the client sees the
    #    remote oids from preupload, skips unchanged files and makes no empty commit.
    puts_before = n_puts
    res2 = _result(run_client(consts + UPLOAD, fake_hub))
    assert res2["oid"] == head1 == fake_hub.head(REPO)
    assert sum(r.route == "PUT /_fake_lfs/upload/{oid}" for r in fake_hub.requests) == puts_before

    # 4. a changed folder makes a new commit on main, only the changed file is sent
    (root / "README.md").write_text(README + "\nSecond release.\n")
    commits_before = sum(r.route == "POST /api/{type}/{repo}/commit/{rev}" for r in fake_hub.requests)
    res3 = _result(run_client(consts + UPLOAD, fake_hub))
    head3 = fake_hub.head(REPO)
    assert res3["oid"] == head3 != head1
    assert [c.oid for c in fake_hub.commits(REPO)][:2] == [head3, head1]
    assert sum(r.route == "POST /api/{type}/{repo}/commit/{rev}" for r in fake_hub.requests) == commits_before + 1
    assert fake_hub.read_file(REPO, "README.md") == (root / "README.md").read_bytes()
    assert sum(r.route == "PUT /_fake_lfs/upload/{oid}" for r in fake_hub.requests) == puts_before

    # the token never ends up in the request log; every request was understood; nothing crashed
    assert fake_hub.token not in repr(fake_hub.requests)
    assert fake_hub.unknown_requests == [] and fake_hub.errors == []
    print("\nendpoints called by the clients:\n  " + "\n  ".join(fake_hub.routes()))


def _http(hub: FakeHub, method: str, path: str, body: bytes | dict | None = None, token: str | None = None,
          headers: dict | None = None) -> tuple[int, dict, bytes]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    req = urllib.request.Request(hub.endpoint + path, data=data, method=method, headers=dict(headers or {}))
    if isinstance(body, dict):
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_writes_require_token(fake_hub: FakeHub, dataset_dir):
    root, _ = dataset_dir
    # the real client, anonymous: create_repo is refused and nothing is created
    proc = run_client(
        _client(
            f"""
            from huggingface_hub import HfApi
            from huggingface_hub.errors import HfHubHTTPError
            try:
                HfApi().create_repo({REPO!r}, repo_type="dataset", private=True, exist_ok=True)
            except HfHubHTTPError as e:
                print(MARK + json.dumps({{"status": e.response.status_code}}))
            else:
                print(MARK + json.dumps({{"status": "created"}}))
            """
        ),
        fake_hub,
        token=False,
    )
    assert _result(proc) == {"status": 401}
    assert fake_hub.repos == {}

    # the real client with a wrong token
    proc = run_client(
        _client(
            f"""
            from huggingface_hub import HfApi
            from huggingface_hub.errors import HfHubHTTPError
            try:
                HfApi().create_repo({REPO!r}, repo_type="dataset", exist_ok=True)
            except HfHubHTTPError as e:
                print(MARK + json.dumps({{"status": e.response.status_code}}))
            """
        ),
        fake_hub,
        extra_env={"HF_TOKEN": "hf_not_the_right_one"},
    )
    assert _result(proc) == {"status": 401}
    assert fake_hub.repos == {}

    # raw HTTP on every write endpoint of an existing private repo: refused without a token
    fake_hub.create_repo_direct(REPO, private=True)
    head = fake_hub.head(REPO)
    readme = (root / "README.md").read_bytes()
    ndjson = (
        json.dumps({"key": "header", "value": {"summary": "x", "description": ""}}) + "\n"
        + json.dumps({"key": "file", "value": {"path": "README.md", "encoding": "base64",
                                               "content": base64.b64encode(readme).decode()}}) + "\n"
    ).encode()
    writes = [
        ("POST", "/api/repos/create", {"name": "other", "organization": "org", "type": "dataset"}),
        ("POST", f"/api/datasets/{REPO}/preupload/main", {"files": [{"path": "a", "sample": "", "size": 0}]}),
        ("POST", f"/datasets/{REPO}.git/info/lfs/objects/batch",
         {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": "0" * 64, "size": 1}]}),
        ("POST", f"/api/datasets/{REPO}/commit/main", ndjson),
        ("POST", f"/api/datasets/{REPO}/branch/dev", {}),
        ("POST", "/api/repos/delete", {"name": "name", "organization": "org", "type": "dataset"}),
    ]
    for method, path, body in writes:
        for token in (None, "hf_wrong"):
            status, _, _ = _http(fake_hub, method, path, body, token=token)
            assert status == 401, (method, path, token, status)
    assert fake_hub.head(REPO) == head and list(fake_hub.repos) == [("dataset", REPO)]
    # private repo reads are refused anonymously, allowed with the token
    assert _http(fake_hub, "GET", f"/api/datasets/{REPO}")[0] == 401
    assert _http(fake_hub, "GET", f"/datasets/{REPO}/resolve/main/.gitattributes")[0] == 401
    assert _http(fake_hub, "GET", f"/api/datasets/{REPO}", token=fake_hub.token)[0] == 200
    # and with the token the same commit goes through
    status, _, body = _http(fake_hub, "POST", f"/api/datasets/{REPO}/commit/main", ndjson, token=fake_hub.token,
                            headers={"Content-Type": "application/x-ndjson"})
    assert status == 200, body
    assert fake_hub.head(REPO) == json.loads(body)["commitOid"] != head
    assert fake_hub.token not in repr(fake_hub.requests)


def test_lfs_protocol_checks_hash_size_and_ranges(fake_hub: FakeHub):
    fake_hub.create_repo_direct(REPO)
    tok = fake_hub.token
    data = bytes(range(256)) * 40
    oid = hashlib.sha256(data).hexdigest()
    status, _, body = _http(fake_hub, "POST", f"/datasets/{REPO}.git/info/lfs/objects/batch",
                            {"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]}, token=tok)
    assert status == 200
    obj = json.loads(body)["objects"][0]
    href = obj["actions"]["upload"]["href"]
    assert href.startswith(fake_hub.endpoint)
    # wrong content, then truncated content: refused and not stored
    for bad in (data[::-1], data[:-1]):
        req = urllib.request.Request(href, data=bad, method="PUT")
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(req, timeout=30)
        assert exc.value.code == 400
    # commit pointing at an object that was never uploaded is rejected
    lfs_line = json.dumps({"key": "lfsFile", "value": {"path": "x.parquet", "algo": "sha256", "oid": oid,
                                                       "size": len(data)}})
    payload = (json.dumps({"key": "header", "value": {"summary": "add x"}}) + "\n" + lfs_line + "\n").encode()
    assert _http(fake_hub, "POST", f"/api/datasets/{REPO}/commit/main", payload, token=tok)[0] == 422
    # a forged signature is refused
    forged = href.replace("sig=", "sig=0")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(urllib.request.Request(forged, data=data, method="PUT"), timeout=30)
    assert exc.value.code == 403
    # the right bytes are accepted (sent with chunked transfer encoding here); batch then reports
    # the object as present (no actions)
    parts = urllib.parse.urlsplit(href)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("PUT", f"{parts.path}?{parts.query}", body=iter([data[:1000], data[1000:]]), encode_chunked=True)
    assert conn.getresponse().status == 200
    conn.close()
    status, _, body = _http(fake_hub, "POST", f"/datasets/{REPO}.git/info/lfs/objects/batch",
                            {"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]}, token=tok)
    assert "actions" not in json.loads(body)["objects"][0]
    status, _, body = _http(fake_hub, "POST", f"/api/datasets/{REPO}/commit/main", payload, token=tok)
    assert status == 200, body
    commit = json.loads(body)["commitOid"]
    # resolve: HEAD headers, full GET, ranges
    url = f"/datasets/{REPO}/resolve/main/x.parquet"
    status, headers, _ = _http(fake_hub, "HEAD", url)
    assert status == 200 and headers["X-Repo-Commit"] == commit
    assert headers["ETag"] == f'"{oid}"' and headers["X-Linked-Etag"] == f'"{oid}"'
    assert int(headers["Content-Length"]) == len(data) == int(headers["X-Linked-Size"])
    assert _http(fake_hub, "GET", url)[2] == data
    for rng, (lo, hi) in {"bytes=10-99": (10, 99), "bytes=10000-": (10000, len(data) - 1),
                          "bytes=-16": (len(data) - 16, len(data) - 1)}.items():
        status, headers, body = _http(fake_hub, "GET", url, headers={"Range": rng})
        assert status == 206 and body == data[lo : hi + 1], rng
        assert headers["Content-Range"] == f"bytes {lo}-{hi}/{len(data)}"
    assert _http(fake_hub, "GET", url, headers={"Range": f"bytes={len(data)}-"})[0] == 416
    status, headers, _ = _http(fake_hub, "GET", f"/datasets/{REPO}/resolve/main/missing.txt")
    assert status == 404 and headers["X-Error-Code"] == "EntryNotFound"
    status, headers, _ = _http(fake_hub, "GET", f"/datasets/{REPO}/resolve/nope/x.parquet")
    assert status == 404 and headers["X-Error-Code"] == "RevisionNotFound"
    # a binary file sent as a regular (non-LFS) file is refused, like on the Hub
    reg = json.dumps({"key": "file", "value": {"path": "b.bin", "encoding": "base64",
                                               "content": base64.b64encode(b"\0\1\2").decode()}})
    bad = (json.dumps({"key": "header", "value": {"summary": "b"}}) + "\n" + reg + "\n").encode()
    assert _http(fake_hub, "POST", f"/api/datasets/{REPO}/commit/main", bad, token=tok)[0] == 400
    # validate-yaml: fine / warning on no metadata / error on broken YAML or malformed configs
    status, _, body = _http(fake_hub, "POST", "/api/validate-yaml", {"content": README, "repoType": "dataset"})
    assert status == 200 and json.loads(body) == {"errors": [], "warnings": []}
    status, _, body = _http(fake_hub, "POST", "/api/validate-yaml", {"content": "# no yaml", "repoType": "dataset"})
    assert status == 200 and json.loads(body)["warnings"]
    for broken in ("---\nconfigs: [\n---\n", "---\nconfigs:\n- data_files: 3\n---\n"):
        status, _, body = _http(fake_hub, "POST", "/api/validate-yaml", {"content": broken, "repoType": "dataset"})
        assert status == 400 and json.loads(body)["errors"], broken
    assert fake_hub.head(REPO) == commit
    assert fake_hub.errors == []


def test_branch_multipart_and_revision_load(tmp_path, dataset_dir):
    """upload_folder(revision=...) after create_branch, with the multipart LFS transfer forced on,
    then load_dataset(revision=...) and tree/paths-info/refs/commits listings."""
    root, splits = dataset_dir
    with FakeHub(tmp_path / "hub" / "storage", multipart_threshold=1, multipart_chunk_size=1024,
                 tree_page_size=2, tree_expand_page_size=2, commits_page_size=1) as hub:
        code = _client(
            f"""
            from huggingface_hub import HfApi
            import datasets
            api = HfApi()
            api.create_repo({REPO!r}, repo_type="dataset")
            api.create_branch({REPO!r}, repo_type="dataset", branch="dev")
            api.create_branch({REPO!r}, repo_type="dataset", branch="dev", exist_ok=True)
            info = api.upload_folder(folder_path={str(root)!r}, repo_id={REPO!r}, repo_type="dataset",
                                     revision="dev", commit_message="release v0")
            main_files = api.list_repo_files({REPO!r}, repo_type="dataset")
            tree = [(e.path, type(e).__name__, getattr(e, "size", None))
                    for e in api.list_repo_tree({REPO!r}, repo_type="dataset", revision="dev",
                                                recursive=True, expand=True)]
            sub = [e.path for e in api.list_repo_tree({REPO!r}, "data/candidates", repo_type="dataset",
                                                      revision="dev")]
            pinfo = [(e.path, type(e).__name__) for e in api.get_paths_info(
                {REPO!r}, ["README.md", "data", "nope"], repo_type="dataset", revision="dev")]
            refs = api.list_repo_refs({REPO!r}, repo_type="dataset")
            commits = api.list_repo_commits({REPO!r}, repo_type="dataset", revision="dev")
            ds = datasets.load_dataset({REPO!r}, name="candidates", split="train", streaming=True,
                                       revision="dev")
            rows = list(ds)
            # deletions (deletedFile lines) and a pull request (create_pr=1 -> refs/pr/1)
            api.upload_folder(folder_path={str(root)!r}, repo_id={REPO!r}, repo_type="dataset", revision="dev",
                              allow_patterns=["README.md"], delete_patterns=["croissant.json"])
            pr = api.delete_file("README.md", {REPO!r}, repo_type="dataset", revision="dev", create_pr=True)
            print(MARK + json.dumps({{
                "oid": info.oid, "main_files": main_files, "tree": tree, "sub": sub, "pinfo": pinfo,
                "branches": sorted(b.name for b in refs.branches),
                "commits": [c.title for c in commits], "rows": rows,
                "pr_num": pr.pr_num, "pr_revision": pr.pr_revision,
            }}))
            """
        )
        res = _result(run_client(code, hub))
        dev_history = [c.oid for c in hub.commits(REPO, "dev")]
        assert len(dev_history) == 3 and res["oid"] == dev_history[1]  # initial, release v0, deletion
        assert hub.head(REPO, "main") == dev_history[2]
        assert res["main_files"] == [".gitattributes"]
        local = _local_files(root)
        tree_files = {p: size for p, kind, size in res["tree"] if kind == "RepoFile"}
        assert tree_files == {**{p: len(b) for p, b in local.items()},
                              ".gitattributes": len(hub.read_file(REPO, ".gitattributes"))}
        assert {p for p, kind, _ in res["tree"] if kind == "RepoFolder"} == {"data", "data/candidates"}
        assert res["sub"] == ["data/candidates/train-00000-of-00001.parquet"]
        assert res["pinfo"] == [["README.md", "RepoFile"], ["data", "RepoFolder"]]
        assert res["branches"] == ["dev", "main"]
        assert res["commits"] == ["release v0", "initial commit"]
        assert res["rows"] == splits["candidates/train"]
        dev_files = set(hub.list_files(REPO, "dev"))
        assert dev_files == set(local) - {"croissant.json"} | {".gitattributes"}
        for path in dev_files - {".gitattributes"}:
            assert hub.read_file(REPO, path, revision="dev") == local[path]
        assert res["pr_num"] == 1 and res["pr_revision"] == "refs/pr/1"
        assert set(hub.list_files(REPO, "refs/pr/1")) == dev_files - {"README.md"}
        routes = hub.routes()
        assert "PUT /_fake_lfs/upload/{oid}/part/{n}" in routes
        assert "POST /_fake_lfs/upload/{oid} (multipart completion)" in routes
        assert "POST /api/{type}/{repo}/branch/{branch}" in routes
        # the small page sizes forced Link-header pagination on tree and commits listings
        for route in ("GET /api/{type}/{repo}/tree/{rev}[/{path}]", "GET /api/{type}/{repo}/commits/{rev}"):
            assert any("cursor" in r.query for r in hub.requests if r.route == route), route
        assert hub.unknown_requests == [] and hub.errors == []
