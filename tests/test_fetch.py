"""fetch() against a local HTTP server that misbehaves on purpose (yt-dlp's generic extractor, direct .mp4)."""

from __future__ import annotations

import io
import logging
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import pytest
from yt_dlp.networking import Response
from yt_dlp.networking.exceptions import HTTPError
from yt_dlp.utils import DownloadError, ExtractorError

from curation import fetch as fetch_mod
from curation import progress
from curation.errors import ClipError
from curation.fetch import FetchConfig, backoff_delay, fetch
from curation.media.synthetic import make_clip
from curation.sources import Candidate, clip_id

STALL_S = 20.0  # a stalled response never lasts longer than this, whatever the client does
SERVER_LIFETIME_S = 120.0  # the server shuts itself down after this even if a test forgets to


class MediaServer:
    """Serves bytes by path (``.html`` as a web page, else mp4) with Range support; per-path scripts of statuses
    ("stall" = headers, then silence)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.scripts: dict[str, list[int | str]] = {}
        self.retry_after: str | None = None
        self.hits: Counter[str] = Counter()
        self.served: list[tuple[str, int | str]] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._timer = threading.Timer(SERVER_LIFETIME_S, self.close)
        self._timer.daemon = True

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"

    def start(self) -> MediaServer:
        self._thread.start()
        self._timer.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self._timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()

    def next_action(self, path: str) -> int | str:
        with self._lock:
            self.hits[path] += 1
            script = self.scripts.get(path)
            action = script.pop(0) if script else (200 if path in self.files else 404)
            self.served.append((path, action))
            return action

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self._respond(body=False)

            def do_GET(self) -> None:
                self._respond(body=True)

            def _respond(self, body: bool) -> None:
                path = self.path.split("?")[0]
                action = server.next_action(path)
                data = server.files.get(path, b"")
                content_type = "text/html; charset=utf-8" if path.endswith(".html") else "video/mp4"
                if action == "stall":
                    self.send_response(200)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.flush()
                    server.stop.wait(STALL_S)
                    self.close_connection = True
                    return
                if action != 200:
                    self.send_response(int(action))
                    if server.retry_after is not None:
                        self.send_header("Retry-After", server.retry_after)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start, end = 0, len(data) - 1
                match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
                if match and match.group(1):
                    start = int(match.group(1))
                    end = min(end, int(match.group(2))) if match.group(2) else end
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(end - start + 1))
                self.end_headers()
                if body:
                    try:
                        self.wfile.write(data[start : end + 1])
                    except (BrokenPipeError, ConnectionResetError):
                        self.close_connection = True

        return Handler


@pytest.fixture(scope="module")
def mp4_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    make_clip(path, "sync", seed=0, duration=4.0, width=160, height=120)
    return path.read_bytes()


@pytest.fixture
def server(mp4_bytes: bytes) -> Iterator[MediaServer]:
    srv = MediaServer({"/v/a.mp4": mp4_bytes, "/v/b.mp4": mp4_bytes}).start()
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture
def config(tmp_path: Path) -> FetchConfig:
    return FetchConfig(
        cache_dir=tmp_path / "cache",
        timeout_s=20.0,
        socket_timeout_s=5.0,
        retries=2,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
        jitter_seed=0,
        section_download=False,
    )


def url_candidate(
    url: str, video_id: str = "0123456789abcdef", start: float = 0.0, end: float | None = None
) -> Candidate:
    return Candidate(clip_id(video_id, start), video_id, url, start, end, "url")


def media_duration(path: Path) -> tuple[float, set[str]]:
    with av.open(str(path)) as container:
        kinds = {s.type for s in container.streams}
        return container.duration / av.time_base, kinds


def test_whole_download_then_cache_hit(server: MediaServer, config: FetchConfig) -> None:
    cand = url_candidate(server.url("/v/a.mp4"))
    got = fetch(cand, config)
    assert (got.method, got.from_cache, got.attempts) == ("whole", False, 1)
    assert (got.section_start, got.section_end) == (0.0, None)
    assert got.path == (config.cache_dir / "videos" / f"{cand.video_id}.mp4").resolve()
    duration, kinds = media_duration(got.path)
    assert abs(duration - 4.0) < 0.2 and kinds == {"video", "audio"}
    assert not any((config.cache_dir / ".partial").iterdir())
    hits = server.hits["/v/a.mp4"]

    again = fetch(cand, config)
    assert (again.path, again.from_cache, again.attempts) == (got.path, True, 0)
    assert server.hits["/v/a.mp4"] == hits


@pytest.mark.skipif(fetch_mod.find_ffmpeg() is None, reason="section downloads need ffmpeg")
def test_find_ffmpeg_accepts_static_builds_and_rejects_missing(tmp_path: Path) -> None:
    static = tmp_path / "ffmpeg-linux-x86_64-v7.0.2"  # how imageio-ffmpeg names its binary
    static.symlink_to(fetch_mod.find_ffmpeg())
    assert fetch_mod.find_ffmpeg(str(static)) == str(static)
    assert fetch_mod.find_ffmpeg(str(tmp_path / "nope" / "ffmpeg")) is None


@pytest.mark.skipif(fetch_mod.find_ffmpeg() is None, reason="section downloads need ffmpeg")
def test_section_download_cuts_only_the_clip(server: MediaServer, config: FetchConfig, tmp_path: Path) -> None:
    static = tmp_path / "ffmpeg-linux-x86_64-v7.0.2"
    static.symlink_to(fetch_mod.find_ffmpeg())
    cand = url_candidate(server.url("/v/a.mp4"), start=1.0, end=2.5)
    got = fetch(cand, replace(config, section_download=True, ffmpeg_location=str(static)))
    assert (got.method, got.section_start, got.section_end, got.from_cache) == ("section", 1.0, 2.5, False)
    assert got.path.parent == (config.cache_dir / "sections").resolve()
    duration, kinds = media_duration(got.path)
    assert abs(duration - 1.5) < 0.15 and kinds == {"video", "audio"}
    assert fetch(cand, replace(config, section_download=True)).from_cache


def test_without_ffmpeg_falls_back_to_whole_video(
    server: MediaServer, config: FetchConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch_mod, "find_ffmpeg", lambda location=None: None)
    cand = url_candidate(server.url("/v/a.mp4"), start=1.0, end=2.5)
    got = fetch(cand, replace(config, section_download=True))
    assert (got.method, got.section_start, got.section_end) == ("whole", 0.0, None)
    # Another clip of the same video reuses the whole file.
    other = url_candidate(server.url("/v/a.mp4"), start=2.0, end=3.0)
    assert fetch(other, replace(config, section_download=True)).from_cache


def test_404_fails_without_retry(server: MediaServer, config: FetchConfig) -> None:
    with pytest.raises(ClipError) as err:
        fetch(url_candidate(server.url("/v/missing.mp4")), config)
    assert err.value.reason == "http_404"
    assert server.hits["/v/missing.mp4"] == 1


def test_403_is_blocked_without_retry(server: MediaServer, config: FetchConfig) -> None:
    server.scripts["/v/a.mp4"] = [403] * 5
    with pytest.raises(ClipError) as err:
        fetch(url_candidate(server.url("/v/a.mp4")), config)
    assert err.value.reason == "blocked"
    assert server.hits["/v/a.mp4"] == 1


def test_500_twice_then_success(server: MediaServer, config: FetchConfig) -> None:
    shown: list[str] = []
    progress.set_sink(shown.append)  # what the progress bar's postfix would show
    try:
        _retried_fetch(server, config)
    finally:
        progress.set_sink(None)
    assert len(shown) == 2 and all(line.startswith("retrying ") and "http_5xx" in line for line in shown), shown
    assert shown[0].split("(")[1].startswith("1/") and shown[1].split("(")[1].startswith("2/")


def _retried_fetch(server: MediaServer, config: FetchConfig) -> None:
    server.scripts["/v/a.mp4"] = [500, 503]
    got = fetch(url_candidate(server.url("/v/a.mp4")), config)
    assert got.attempts == 3 and got.path.is_file()
    assert [a for p, a in server.served if p == "/v/a.mp4"][:2] == [500, 503]


def test_persistent_500_gives_http_5xx_after_all_attempts(server: MediaServer, config: FetchConfig) -> None:
    server.scripts["/v/a.mp4"] = [500] * 10
    with pytest.raises(ClipError) as err:
        fetch(url_candidate(server.url("/v/a.mp4")), config)
    assert err.value.reason == "http_5xx"
    assert server.hits["/v/a.mp4"] == config.retries + 1
    assert not (config.cache_dir / "videos").exists()


def test_429_is_retried_with_backoff(
    server: MediaServer, config: FetchConfig, caplog: pytest.LogCaptureFixture
) -> None:
    server.scripts["/v/a.mp4"] = [429, 429]
    server.retry_after = "0"
    with caplog.at_level(logging.INFO, logger="curation.fetch"):
        got = fetch(url_candidate(server.url("/v/a.mp4")), config)
    assert got.attempts == 3
    retries = [r.getMessage() for r in caplog.records if r.name == "curation.fetch"]
    assert len(retries) == 2 and all("(rate_limited); retrying in" in m for m in retries)

    server.scripts["/v/b.mp4"] = [429] * 10
    with pytest.raises(ClipError) as err:
        fetch(url_candidate(server.url("/v/b.mp4"), video_id="fedcba9876543210"), config)
    assert err.value.reason == "rate_limited"
    assert server.hits["/v/b.mp4"] == config.retries + 1


def test_backoff_is_exponential_capped_jittered_and_seeded() -> None:
    cfg = FetchConfig(cache_dir=Path("unused"), backoff_base_s=1.0, backoff_max_s=5.0)
    delays = [backoff_delay(k, cfg, random.Random(7)) for k in range(5)]
    for k, d in enumerate(delays):
        cap = min(5.0, 2.0**k)
        assert cap / 2 <= d <= cap
    assert delays == [backoff_delay(k, cfg, random.Random(7)) for k in range(5)]
    assert backoff_delay(0, cfg, random.Random(7), retry_after=3.0) == 3.0
    assert backoff_delay(0, cfg, random.Random(7), retry_after=100.0) == 5.0


def warm_worker(server: MediaServer, config: FetchConfig) -> None:
    """Download once so a worker is idle and warm: timings below then measure only the stalled item."""
    fetch(url_candidate(server.url("/v/b.mp4"), video_id="fedcba9876543210"), config)


def test_stalled_server_times_out_within_the_deadline(server: MediaServer, config: FetchConfig) -> None:
    warm_worker(server, config)
    server.scripts["/v/a.mp4"] = ["stall"] * 10
    cfg = replace(config, timeout_s=1.5, socket_timeout_s=30.0)
    began = time.monotonic()
    with pytest.raises(ClipError) as err:
        fetch(url_candidate(server.url("/v/a.mp4")), cfg)
    assert err.value.reason == "timeout" and "wall clock" in err.value.detail
    assert time.monotonic() - began < cfg.timeout_s + 2.5
    assert server.hits["/v/a.mp4"] >= 1
    assert not any((cfg.cache_dir / ".partial").iterdir())
    # The killed worker is replaced: the next item downloads normally.
    assert fetch(url_candidate(server.url("/v/b.mp4"), video_id="0000000000000001"), config).path.is_file()


def processes_mentioning(text: str, settle_s: float = 5.0) -> list[str]:
    """Live processes whose command line contains `text`, polled until none is left or `settle_s` passes:
    a killed process group takes a moment to be reaped on a loaded machine."""
    deadline = time.monotonic() + settle_s
    while (found := _command_lines_with(text)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def _command_lines_with(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in args:
            found.append(args)
    return found


@pytest.mark.skipif(fetch_mod.find_ffmpeg() is None, reason="section downloads need ffmpeg")
def test_stalled_section_download_kills_ffmpeg_too(server: MediaServer, config: FetchConfig) -> None:
    server.scripts["/v/a.mp4"] = [200] + ["stall"] * 10  # the extractor's probe succeeds, ffmpeg's reads stall
    url = server.url("/v/a.mp4")
    cfg = replace(config, section_download=True, timeout_s=4.0)
    with pytest.raises(ClipError) as err:
        fetch(url_candidate(url, start=1.0, end=2.0), cfg)
    assert err.value.reason == "timeout"
    assert ("/v/a.mp4", "stall") in server.served
    assert processes_mentioning(url) == []


def test_socket_timeout_is_reported_as_timeout(server: MediaServer, config: FetchConfig) -> None:
    warm_worker(server, config)
    server.scripts["/v/a.mp4"] = ["stall"] * 10
    cfg = replace(config, timeout_s=15.0, socket_timeout_s=0.5, retries=0)
    began = time.monotonic()
    with pytest.raises(ClipError) as err:
        fetch(url_candidate(server.url("/v/a.mp4")), cfg)
    assert err.value.reason == "timeout" and "wall clock" not in err.value.detail
    assert time.monotonic() - began < 3.5


def test_invalid_youtube_id_is_rejected_before_any_request(config: FetchConfig) -> None:
    bad = Candidate("bad id!_000000000", "bad id!", "https://www.youtube.com/watch?v=x", 0.0, None, "youtube")
    with pytest.raises(ClipError) as err:
        fetch(bad, config)
    assert err.value.reason == "invalid_video_id"


@pytest.mark.parametrize(
    ("video_id", "clip"),
    [("../../etc", "x_000000000"), ("0123456789abcdef", "../../evil_000000000"), ("0123456789abcdef", "a/b")],
)
def test_path_traversal_is_rejected(config: FetchConfig, video_id: str, clip: str) -> None:
    cand = Candidate(clip, video_id, "http://127.0.0.1:9/v.mp4", 0.0, None, "url")
    with pytest.raises(ClipError) as err:
        fetch(cand, config)
    assert err.value.reason == "unsafe_path"
    assert not config.cache_dir.exists()


def test_non_http_url_is_rejected(config: FetchConfig, tmp_path: Path) -> None:
    cand = Candidate(clip_id("0123456789abcdef", 0), "0123456789abcdef", f"file://{tmp_path}/x.mp4", 0.0, None, "url")
    with pytest.raises(ClipError) as err:
        fetch(cand, config)
    assert err.value.reason == "unsafe_path"


def test_local_files_pass_through(config: FetchConfig, tmp_path: Path, mp4_bytes: bytes) -> None:
    path = tmp_path / "local.mp4"
    path.write_bytes(mp4_bytes)
    vid = "0123456789abcdef"
    cand = Candidate(clip_id(vid, 0), vid, "local.mp4", 0.0, None, "local", local_path=str(path))
    got = fetch(cand, config)
    assert (got.path, got.method, got.from_cache, got.attempts) == (path, "local", False, 0)
    with pytest.raises(ClipError) as err:
        fetch(replace(cand, local_path=str(tmp_path / "gone.mp4")), config)
    assert err.value.reason == "missing_file"


def test_config_allow_list_and_secrets_stay_out_of_repr(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="allow-list"):
        FetchConfig(cache_dir=tmp_path, extra_ytdlp_opts={"exec_cmd": "rm -rf /"})
    cfg = FetchConfig(
        cache_dir=tmp_path,
        cookies_file="/secret/cookies.txt",
        cookies_from_browser=("firefox",),
        extra_ytdlp_opts={"http_headers": {"Authorization": "Bearer TOKEN"}},
    )
    assert "cookies" not in repr(cfg) and "TOKEN" not in repr(cfg)


def test_error_details_drop_url_query_strings() -> None:
    text = "HTTP Error 500 for https://rr1.example/videoplayback?sig=SECRET&expire=1 (x)"
    assert "SECRET" not in fetch_mod._redact(text) and "https://rr1.example/videoplayback" in fetch_mod._redact(text)


def test_classification_of_wrapped_yt_dlp_errors() -> None:
    def wrapped(status: int, headers: dict[str, str] | None = None) -> DownloadError:
        response = Response(io.BytesIO(b""), "https://x.example/v?sig=S", headers or {}, status=status)
        try:
            raise ExtractorError("Unable to download webpage", cause=HTTPError(response))
        except ExtractorError as exc:
            return DownloadError(f"ERROR: {exc}", sys.exc_info())

    limited = fetch_mod._classify(wrapped(429, {"Retry-After": "7"}))
    assert (limited.reason, limited.retryable, limited.retry_after) == ("rate_limited", True, 7.0)
    assert (fetch_mod._classify(wrapped(503)).reason, fetch_mod._classify(wrapped(503)).retryable) == ("http_5xx", True)
    assert fetch_mod._classify(wrapped(410)).reason == "http_error"
    bot = DownloadError("ERROR: [youtube] abcdefghijk: Sign in to confirm you\u2019re not a bot. Use --cookies")
    assert (fetch_mod._classify(bot).reason, fetch_mod._classify(bot).retryable) == ("blocked", False)
    other = fetch_mod._classify(DownloadError("ERROR: [youtube] abcdefghijk: Video unavailable"))
    assert (other.reason, other.retryable) == ("download_failed", False)
    for upcoming in ("Premieres in 10 hours", "Premiere will begin shortly", "This live event will begin in 3 days."):
        try:  # how yt-dlp's YouTube extractor reports a video with no formats yet (raise_no_formats)
            raise ExtractorError(upcoming, expected=True, video_id="abcdefghijk", ie="youtube")
        except ExtractorError as exc:
            failure = fetch_mod._classify(DownloadError(f"ERROR: {exc}", sys.exc_info()))
        assert (failure.reason, failure.retryable) == ("live_or_premiere", False), upcoming
    premiere_title = fetch_mod._classify(DownloadError("ERROR: [youtube] abcdefghijk: Video unavailable. Premieres"))
    assert premiere_title.reason == "download_failed"


def test_ytdlp_options_keep_control_of_paths_and_retries(tmp_path: Path) -> None:
    cfg = FetchConfig(
        cache_dir=tmp_path,
        rate_limit=500_000,
        cookies_file="/c.txt",
        extra_ytdlp_opts={"proxy": "http://127.0.0.1:3128", "merge_output_format": "mkv"},
    )
    job = fetch_mod._Job(
        url="https://www.youtube.com/watch?v=abcdefghijk",
        format=cfg.format,
        section=(30.0, 40.0),
        ffmpeg="/usr/bin/ffmpeg",
        force_keyframes_at_cuts=True,
        socket_timeout_s=cfg.socket_timeout_s,
        rate_limit=cfg.rate_limit,
        sleep_interval_s=0.0,
        cookies_file=cfg.cookies_file,
        cookies_from_browser=None,
        ytdlp_cachedir=str(tmp_path / ".yt-dlp"),
        extra={**cfg.extra_ytdlp_opts, "retries": 99},  # not reachable through FetchConfig; still overridden
    )
    opts = fetch_mod._ydl_opts(job, str(tmp_path / "tmp"))
    assert opts["paths"] == {"home": str(tmp_path / "tmp"), "temp": str(tmp_path / "tmp")}
    assert (opts["retries"], opts["ratelimit"], opts["cookiefile"]) == (0, 500_000, "/c.txt")
    assert opts["proxy"] == "http://127.0.0.1:3128"
    assert opts["merge_output_format"] == "mkv" and opts["force_keyframes_at_cuts"] is True
    assert list(opts["download_ranges"]({}, None)) == [{"start_time": 30.0, "end_time": 40.0}]
    assert "cookiesfrombrowser" not in opts and "sleep_interval" not in opts
