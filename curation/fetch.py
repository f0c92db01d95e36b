"""Fetch one candidate's media into a local cache, bounded in time and confined to the cache folder.

Why it is built this way (video2dataset's users report bot checks, HTTP 429 and hangs):

* Downloads run yt-dlp (Python API, never a shell string) in a worker process started in its own
  session. A server that sends headers and then nothing can stall yt-dlp, or the ffmpeg it starts for
  section downloads, past any socket timeout; a thread cannot be stopped, a process group can.
  ``timeout_s`` is a wall-clock deadline for the whole item, retries and back-off included; a worker
  that misses it is killed with its children and replaced. Workers are reused while healthy (one per
  concurrent ``fetch`` call), since starting one costs seconds.
* Retries only where waiting can help: HTTP 429, 5xx, socket timeouts and connection errors, with
  exponential back-off and jitter (seedable). 404 and 403 / "confirm you're not a bot" fail at once.
* Files are written to a per-attempt temp folder under ``cache_dir/.partial`` and renamed into place,
  so a cache entry is always complete and a re-run reuses it without a request.
* Cache stems come from the validated ``clip_id`` / ``video_id`` (``[A-Za-z0-9_-]`` only) and every
  final path is checked to lie inside ``cache_dir``.

Cache layout: ``cache_dir/sections/{clip_id}_{end ms}.{ext}`` holds just the clip (needs ffmpeg);
``cache_dir/videos/{video_id}.{ext}`` holds whole videos, reused by every clip of that video;
``cache_dir/info/{video_id}.json`` holds a video's metadata (``fetch_info``: no media is downloaded),
trimmed to ``INFO_KEYS`` so no signed media URL is ever stored.

``probe_remote`` and ``fetch_info`` ask the same workers for metadata only (is the video there, how long is
it; the metadata filters' fields), for availability checks and filters that download no media.

Failures raise ``ClipError`` with reason ``invalid_video_id``, ``unsafe_path``, ``missing_file``,
``http_404``, ``blocked``, ``rate_limited`` (429 after all retries), ``http_5xx``, ``http_error``,
``live_or_premiere`` (a premiere or live event that has not started: no media yet), ``timeout`` or
``download_failed``. Details have URL query strings removed; cookies never reach logs.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

import yt_dlp
from yt_dlp.extractor import gen_extractor_classes
from yt_dlp.networking.exceptions import HTTPError, TransportError
from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor
from yt_dlp.utils import download_range_func

from curation import progress
from curation.errors import ClipError
from curation.sources import SAFE_ID_RE, Candidate, is_youtube_id, youtube_url

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# yt-dlp options a caller may add. Everything that decides where files go, what is retried or what is
# logged stays under this module's control.
ALLOWED_EXTRA_OPTS = frozenset({
    "proxy",
    "source_address",
    "geo_bypass_country",
    "http_headers",
    "extractor_args",
    "js_runtimes",
    "remote_components",
    "concurrent_fragment_downloads",
    "throttledratelimit",
    "max_sleep_interval",
    "sleep_interval_requests",
    "merge_output_format",
})
_BOT_CHECK_RE = re.compile(r"confirm you.?re not a bot|sign in to confirm", re.IGNORECASE)
# YouTube's playability reasons for a premiere or live event with no media yet (yt-dlp passes them through as
# "no formats" errors): "Premieres in 10 hours", "Premiere will begin shortly", "This live event will begin in...",
# "... is not currently live", "This live stream recording is not available".
LIVE_MESSAGE_RE = re.compile(
    r"premieres in|premiere will begin|live event will begin|is not currently live|this live stream", re.IGNORECASE
)
_URL_QUERY_RE = re.compile(r"(https?://[^\s?#'\"]+)[?#][^\s'\"]*")
_STEM_RE = re.compile(r"[A-Za-z0-9_-]{1,100}")
_EXT_RE = re.compile(r"\.[A-Za-z0-9]{1,5}")
_DETAIL_MAX = 500
_KILL_GRACE_S = 5.0
_WORKER_START_TIMEOUT_S = 120.0
_MAX_JOBS_PER_WORKER = 200
# The info-dict fields a metadata-only job returns: what availability checks, the metadata filters and the
# published source_* columns use.
INFO_KEYS = ("id", "title", "description", "duration", "categories", "tags", "language", "license", "upload_date",
             "timestamp", "channel_id", "availability", "live_status", "is_live", "was_live", "extractor_key")


@dataclass(frozen=True)
class FetchConfig:
    """How to download. ``timeout_s`` bounds one item end to end; ``socket_timeout_s`` one read.

    ``format`` is used when ffmpeg is available (it may merge separate video and audio streams);
    ``format_without_ffmpeg`` must pick a single progressive file. ``cookies_from_browser`` is
    yt-dlp's tuple ``(browser, profile, keyring, container)``, trailing entries optional.
    ``rate_limit`` is bytes/s; ``sleep_interval_s`` is slept by yt-dlp before each download.
    """

    cache_dir: Path | None = None  # None in a pipeline config: the run's `<output>/cache`
    timeout_s: float = 300.0
    socket_timeout_s: float = 20.0
    retries: int = 3
    backoff_base_s: float = 2.0
    backoff_max_s: float = 60.0
    jitter_seed: int | None = None
    section_download: bool = True
    force_keyframes_at_cuts: bool = True
    rate_limit: int | None = None
    sleep_interval_s: float = 0.0
    format: str = "bv*[height<=360]+ba/b[height<=360]/b"
    format_without_ffmpeg: str = "b[height<=360]/b"
    ffmpeg_location: str | None = None
    cookies_file: str | None = field(default=None, repr=False)
    cookies_from_browser: tuple[str, ...] | None = field(default=None, repr=False)
    extra_ytdlp_opts: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.cache_dir is not None:
            object.__setattr__(self, "cache_dir", Path(self.cache_dir))
        unknown = set(self.extra_ytdlp_opts) - ALLOWED_EXTRA_OPTS
        if unknown:
            raise ValueError(f"yt-dlp options not in the allow-list: {sorted(unknown)}")
        if self.timeout_s <= 0 or self.socket_timeout_s <= 0 or self.retries < 0:
            raise ValueError("timeouts must be positive and retries >= 0")


@dataclass(frozen=True)
class FetchedMedia:
    """A media file on disk and the span of the source video it holds.

    ``section_end`` None means "to the end of the video": the file is the whole video, so the clip is
    at ``[candidate.start_time, candidate.end_time]`` inside it. ``method`` is ``section``, ``whole``
    or ``local``; ``attempts`` is 0 for cache hits and local files.
    """

    path: Path
    section_start: float
    section_end: float | None
    from_cache: bool
    method: str
    attempts: int


def fetch(candidate: Candidate, config: FetchConfig) -> FetchedMedia:
    """The candidate's media: a local file as is, else from the cache, else downloaded within the deadline.

    A cached clip section or a cached whole video of the same ``video_id`` both count as hits.
    """
    if candidate.local_path is not None:
        return _local(candidate)
    url = _validated_url(candidate)
    cache = config.cache_dir.resolve()
    section_stem = _section_stem(candidate)
    if section_stem is not None and (hit := _cached(cache / "sections", section_stem)) is not None:
        return FetchedMedia(hit, candidate.start_time, candidate.end_time, True, "section", 0)
    if (hit := _cached(cache / "videos", candidate.video_id)) is not None:
        return FetchedMedia(hit, 0.0, None, True, "whole", 0)

    ffmpeg = find_ffmpeg(config.ffmpeg_location)
    if config.section_download and section_stem is not None and ffmpeg is not None:
        folder, stem, section = "sections", section_stem, (candidate.start_time, candidate.end_time)
    else:
        folder, stem, section = "videos", candidate.video_id, None
    job = _job(url, config, cache, ffmpeg, section)

    def commit(result: str, tmp_dir: Path) -> Path:
        return _commit(Path(result), tmp_dir, cache, cache / folder, stem)

    path, attempts = _with_retries(candidate.clip_id, job, cache, stem, config, commit)
    if section is None:
        return FetchedMedia(path, 0.0, None, False, "whole", attempts)
    return FetchedMedia(path, section[0], section[1], False, "section", attempts)


@dataclass(frozen=True)
class RemoteInfo:
    """What yt-dlp reports about a video without downloading it; ``duration`` is None when unknown."""

    duration: float | None
    attempts: int


def probe_remote(candidate: Candidate, config: FetchConfig) -> RemoteInfo:
    """Metadata only (yt-dlp ``extract_info`` without download): is the video there, and how long is it?

    Same worker processes, deadline, retries and failure reasons as ``fetch``; no media is written.
    """
    url = _validated_url(candidate)
    cache = config.cache_dir.resolve()
    job = _job(url, config, cache, find_ffmpeg(config.ffmpeg_location), None, metadata_only=True)
    result, attempts = _with_retries(candidate.clip_id, job, cache, candidate.clip_id, config, lambda r, _: r)
    duration = json.loads(result).get("duration")
    return RemoteInfo(float(duration) if isinstance(duration, (int, float)) else None, attempts)


@dataclass(frozen=True)
class FetchedInfo:
    """A source video's metadata (yt-dlp's info dict trimmed to ``INFO_KEYS``); ``attempts`` is 0 for cache hits."""

    info: dict[str, Any]
    from_cache: bool
    attempts: int


def fetch_info(candidate: Candidate, config: FetchConfig) -> FetchedInfo:
    """The candidate's source-video metadata without downloading media: from the cache, else one yt-dlp call.

    Same worker processes, deadline, retries and back-off as ``fetch``; cached per ``video_id``, so every
    clip of a video shares one call, across tasks and runs.
    """
    url = _validated_url(candidate)
    cache = config.cache_dir.resolve()
    path = cache / "info" / f"{candidate.video_id}.json"
    if path.is_file():
        return FetchedInfo(json.loads(path.read_text(encoding="utf-8")), True, 0)
    job = _job(url, config, cache, find_ffmpeg(config.ffmpeg_location), None, metadata_only=True)
    info, attempts = _with_retries(candidate.video_id, job, cache, candidate.video_id, config, lambda r, _: json.loads(r))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(info, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return FetchedInfo(info, False, attempts)


def _job(
    url: str, config: FetchConfig, cache: Path, ffmpeg: str | None, section: tuple[float, float] | None,
    metadata_only: bool = False,
) -> _Job:
    return _Job(
        url=url,
        format=config.format if ffmpeg else config.format_without_ffmpeg,
        section=section,
        ffmpeg=ffmpeg,
        force_keyframes_at_cuts=config.force_keyframes_at_cuts,
        socket_timeout_s=config.socket_timeout_s,
        rate_limit=config.rate_limit,
        sleep_interval_s=config.sleep_interval_s,
        cookies_file=config.cookies_file,
        cookies_from_browser=config.cookies_from_browser,
        ytdlp_cachedir=str(cache / ".yt-dlp"),
        extra=dict(config.extra_ytdlp_opts),
        metadata_only=metadata_only,
    )


@functools.lru_cache(maxsize=8)
def find_ffmpeg(location: str | None = None) -> str | None:
    """An ffmpeg yt-dlp can run: ``location`` if given, else PATH, else imageio-ffmpeg's static binary.

    Section downloads and stream merging need it; without one, fetch downloads whole single-file
    formats instead (recorded as ``method="whole"``).
    """
    for path in [location] if location else [shutil.which("ffmpeg"), _imageio_ffmpeg()]:
        if path:
            with yt_dlp.YoutubeDL({"ffmpeg_location": path, "logger": _NullLogger()}) as ydl:
                if FFmpegPostProcessor(ydl).available:
                    return path
    return None


def backoff_delay(retry: int, config: FetchConfig, rng: random.Random, retry_after: float | None = None) -> float:
    """Sleep before retry number ``retry`` (0-based): min(max, base * 2**retry), jittered to [d/2, d].

    A server's Retry-After raises the delay, still capped at ``backoff_max_s``.
    """
    delay = min(config.backoff_max_s, config.backoff_base_s * 2**retry)
    delay = delay / 2 + rng.uniform(0.0, delay / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, config.backoff_max_s))
    return delay


@dataclass(frozen=True)
class _Job:
    """Everything the worker process needs for one download, as plain picklable data."""

    url: str
    format: str
    section: tuple[float, float] | None
    ffmpeg: str | None
    force_keyframes_at_cuts: bool
    socket_timeout_s: float
    rate_limit: int | None
    sleep_interval_s: float
    cookies_file: str | None = field(repr=False)
    cookies_from_browser: tuple[str, ...] | None = field(repr=False)
    ytdlp_cachedir: str
    extra: dict[str, Any] = field(repr=False)
    metadata_only: bool = False  # extract_info without download: the result is JSON metadata, not a path


@dataclass(frozen=True)
class _Failure:
    """A classified attempt failure; ``retryable`` failures are tried again while time remains."""

    reason: str
    detail: str
    retryable: bool
    retry_after: float | None = None


def _local(candidate: Candidate) -> FetchedMedia:
    path = Path(candidate.local_path or "")
    if not path.is_file():
        raise ClipError("missing_file", f"local file not found: {path.name}")
    return FetchedMedia(path, 0.0, None, False, "local", 0)


def _validated_url(candidate: Candidate) -> str:
    """The URL to open; also checks both names that become cache file stems."""
    if candidate.source == "youtube" and not is_youtube_id(candidate.video_id):
        raise ClipError("invalid_video_id", repr(candidate.video_id[:80]))
    if not SAFE_ID_RE.fullmatch(candidate.video_id) or not _STEM_RE.fullmatch(candidate.clip_id):
        raise ClipError("unsafe_path", f"id not filesystem-safe: {candidate.clip_id[:80]!r}")
    if candidate.source == "youtube":
        return youtube_url(candidate.video_id)
    if not candidate.url.startswith(("http://", "https://")):
        raise ClipError("unsafe_path", "only http(s) URLs are fetched")
    return candidate.url


def _section_stem(candidate: Candidate) -> str | None:
    if candidate.end_time is None:
        return None
    return f"{candidate.clip_id}_{int(round(candidate.end_time * 1000)):09d}"


def _cached(folder: Path, stem: str) -> Path | None:
    for path in sorted(folder.glob(f"{stem}.*")):
        if _EXT_RE.fullmatch(path.suffix) and path.stem == stem and path.is_file() and path.stat().st_size > 0:
            return path
    return None


def _with_retries(
    clip: str, job: _Job, cache: Path, stem: str, config: FetchConfig, accept: Callable[[str, Path], _T]
) -> tuple[_T, int]:
    """Run ``job`` until it succeeds, fails for good, or the deadline passes; ``accept`` takes the
    worker's result and its temp folder (removed afterwards) and returns what the caller keeps."""
    rng = random.Random(None if config.jitter_seed is None else f"{config.jitter_seed}:{clip}")
    partial_root = cache / ".partial"
    partial_root.mkdir(parents=True, exist_ok=True)
    worker = _take_worker()
    deadline = time.monotonic() + config.timeout_s  # starts once a warm worker is ready
    attempts = 0
    try:
        while True:
            attempts += 1
            tmp_dir = tempfile.mkdtemp(prefix=f"{stem}.", dir=partial_root)
            try:
                result = worker.run(job, tmp_dir, deadline - time.monotonic())
                if isinstance(result, str):
                    return accept(result, Path(tmp_dir)), attempts
            finally:
                shutil.rmtree(tmp_dir, ignore_errors=True)
            if not result.retryable or attempts > config.retries:
                raise ClipError(result.reason, result.detail)
            delay = backoff_delay(attempts - 1, config, rng, result.retry_after)
            if time.monotonic() + delay >= deadline:
                raise ClipError(result.reason, f"{result.detail} (no time left to retry)")
            log.info("%s: attempt %d failed (%s); retrying in %.2fs", clip, attempts, result.reason, delay)
            progress.status(f"retrying {clip} ({attempts}/{config.retries}, {result.reason}, {delay:.0f} s)")
            time.sleep(delay)
    finally:
        _give_back(worker)


def _commit(downloaded: Path, tmp_dir: Path, cache: Path, folder: Path, stem: str) -> Path:
    """Atomically move a finished download from its temp folder into the cache."""
    downloaded = downloaded.resolve()
    if not downloaded.is_relative_to(tmp_dir.resolve()) or not downloaded.is_file():
        raise ClipError("download_failed", "downloader reported no file in its temp folder")
    if not _EXT_RE.fullmatch(downloaded.suffix):
        raise ClipError("unsafe_path", f"unexpected file extension {downloaded.suffix[:20]!r}")
    folder.mkdir(parents=True, exist_ok=True)
    final = (folder / f"{stem}{downloaded.suffix.lower()}").resolve()
    if not final.is_relative_to(cache):
        raise ClipError("unsafe_path", "output path escapes the cache folder")
    os.replace(downloaded, final)
    return final


# The worker is started as a fresh interpreter running this module, not with multiprocessing's
# spawn, which would re-run the caller's main script (and fail without an ``if __name__`` guard).
_WORKER_BOOT = (
    "import json, sys\n"
    "sys.path[:0] = json.loads(sys.argv[1])\n"
    "from curation.fetch import _worker_main\n"
    "_worker_main(int(sys.argv[2]), int(sys.argv[3]))\n"
)


class _Worker:
    """A child interpreter in its own session that runs downloads one at a time, kept warm across items.

    Starting one costs ~3 s of CPU (imports, compiling ~1800 extractor URL patterns), so it is reused
    until it misses a deadline, which kills it and everything it started, or until it has served
    ``_MAX_JOBS_PER_WORKER`` items (bounds whatever yt-dlp accumulates in a long-lived process).
    Jobs and results travel as pickles over two private pipes; the child's stdout is discarded.
    """

    def __init__(self) -> None:
        job_r, job_w = os.pipe()
        result_r, result_w = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _WORKER_BOOT, json.dumps(sys.path), str(job_r), str(result_w)],
                pass_fds=(job_r, result_w),
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        except BaseException:
            os.close(job_w)
            os.close(result_r)
            raise
        finally:
            os.close(job_r)
            os.close(result_w)
        self._jobs = Connection(job_w, readable=False)
        self._results = Connection(result_r, writable=False)
        self.jobs = 0
        _live_workers.add(self)
        try:
            ready = self._results.poll(_WORKER_START_TIMEOUT_S) and self._results.recv() == "ready"
        except EOFError:
            ready = False
        if not ready:
            self.kill()
            raise RuntimeError(f"download worker did not start within {_WORKER_START_TIMEOUT_S:.0f}s")

    @property
    def usable(self) -> bool:
        return self._proc.poll() is None and self.jobs < _MAX_JOBS_PER_WORKER

    def run(self, job: _Job, tmp_dir: str, budget_s: float) -> str | _Failure:
        """The downloaded path or the failure; on a missed deadline the worker is killed first."""
        if budget_s <= 0:
            return _Failure("timeout", "no time left", retryable=False)
        self.jobs += 1
        try:
            self._jobs.send((job, tmp_dir))
            if self._results.poll(budget_s):
                return self._results.recv()
        except (OSError, EOFError):
            self.kill()
            detail = f"download worker died (exit code {self._proc.returncode})"
            return _Failure("download_failed", detail, retryable=False)
        self.kill()
        return _Failure("timeout", f"no result within {budget_s:.1f}s (wall clock)", retryable=False)

    def kill(self) -> None:
        """Kill the worker's process group: the worker plus any ffmpeg it started."""
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self._proc.wait(timeout=_KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            log.warning("download worker %d did not exit after SIGKILL", self._proc.pid)
        self._jobs.close()
        self._results.close()


_idle_workers: list[_Worker] = []
_live_workers: weakref.WeakSet[_Worker] = weakref.WeakSet()  # idle or busy


def stop_workers() -> None:
    """Kill every download worker of this process, busy ones too: their ``fetch`` calls fail at once.

    For an interrupted run, which would otherwise wait for in-flight downloads up to their deadline.
    """
    for worker in list(_live_workers):
        worker.kill()
_idle_lock = threading.Lock()


def _take_worker() -> _Worker:
    with _idle_lock:
        while _idle_workers:
            worker = _idle_workers.pop()
            if worker.usable:
                return worker
            worker.kill()
    return _Worker()


def _give_back(worker: _Worker) -> None:
    if worker.usable:
        with _idle_lock:
            _idle_workers.append(worker)
    else:
        worker.kill()


def _forget_workers_after_fork() -> None:
    """A forked process must not share its parent's workers (their pipes) or a lock held at fork time."""
    global _idle_workers, _idle_lock, _live_workers
    _idle_workers, _idle_lock, _live_workers = [], threading.Lock(), weakref.WeakSet()


os.register_at_fork(after_in_child=_forget_workers_after_fork)


def _worker_main(job_fd: int, result_fd: int) -> None:
    """Worker process body: warm up, then serve jobs until the parent closes the job pipe."""
    jobs, results = Connection(job_fd, writable=False), Connection(result_fd, readable=False)
    for extractor in gen_extractor_classes():
        extractor.suitable("")  # compiles and caches its URL patterns now, outside any item's deadline
    results.send("ready")
    while True:
        try:
            job, tmp_dir = jobs.recv()
        except EOFError:  # the parent is gone
            return
        try:
            result: str | _Failure = _download(job, tmp_dir)
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the parent as data
            result = _classify(exc)
        results.send(result)


def _download(job: _Job, tmp_dir: str) -> str:
    # FFmpegFD decides whether it can cut sections from this context variable, not from the
    # ffmpeg_location option (yt-dlp's CLI sets both); without it a section request silently
    # becomes a whole-file download when ffmpeg is not on PATH.
    FFmpegPostProcessor._ffmpeg_location.set(job.ffmpeg)
    with yt_dlp.YoutubeDL(_ydl_opts(job, tmp_dir)) as ydl:
        info = ydl.extract_info(job.url, download=not job.metadata_only)
    if job.metadata_only:
        return json.dumps(trim_info(info))
    downloads = (info or {}).get("requested_downloads") or []
    if not downloads or not downloads[0].get("filepath"):
        raise RuntimeError("yt-dlp returned no downloaded file")
    return str(downloads[0]["filepath"])


def trim_info(info: dict[str, Any] | None) -> dict[str, Any]:
    """The ``INFO_KEYS`` of an info dict as plain JSON values: no formats, so no signed media URL is kept."""
    trimmed = {key: info[key] for key in INFO_KEYS if (info or {}).get(key) is not None}
    return json.loads(json.dumps(trimmed, default=str))


def _ydl_opts(job: _Job, tmp_dir: str) -> dict[str, Any]:
    opts: dict[str, Any] = {
        **job.extra,
        "format": job.format,
        "paths": {"home": tmp_dir, "temp": tmp_dir},
        "outtmpl": {"default": "media.%(ext)s"},
        "noplaylist": True,
        "overwrites": True,
        "continuedl": False,
        "socket_timeout": job.socket_timeout_s,
        # Retries are this module's job (counted, backed off, bounded by the deadline).
        "retries": 0,
        "fragment_retries": 0,
        "extractor_retries": 0,
        "file_access_retries": 0,
        "cachedir": job.ytdlp_cachedir,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": _NullLogger(),
        "ffmpeg_location": job.ffmpeg,
        "ratelimit": job.rate_limit,
        "sleep_interval": job.sleep_interval_s or None,
        "cookiefile": job.cookies_file,
        "cookiesfrombrowser": job.cookies_from_browser,
    }
    opts.setdefault("merge_output_format", "mp4/mkv")
    if job.metadata_only:  # yt-dlp's sleep_interval only applies before a download
        opts.setdefault("sleep_interval_requests", job.sleep_interval_s or None)
    if job.section is not None:
        opts["download_ranges"] = download_range_func(None, [job.section])
        opts["force_keyframes_at_cuts"] = job.force_keyframes_at_cuts
    return {k: v for k, v in opts.items() if v is not None}


def _classify(exc: BaseException) -> _Failure:
    detail = _redact(str(exc))
    if _BOT_CHECK_RE.search(str(exc)):
        return _Failure("blocked", detail, retryable=False)
    if LIVE_MESSAGE_RE.search(str(exc)):
        return _Failure("live_or_premiere", detail, retryable=False)
    chain = _exception_chain(exc)
    http = next((e for e in chain if isinstance(e, HTTPError)), None)
    if http is not None:
        status = http.status
        if status == 404:
            return _Failure("http_404", detail, retryable=False)
        if status == 403:
            return _Failure("blocked", detail, retryable=False)
        if status == 429:
            return _Failure("rate_limited", detail, retryable=True, retry_after=_retry_after(http))
        if 500 <= status <= 599:
            return _Failure("http_5xx", detail, retryable=True, retry_after=_retry_after(http))
        return _Failure("http_error", detail, retryable=False)
    if any(isinstance(e, TimeoutError) for e in chain) or "timed out" in str(exc).lower():
        return _Failure("timeout", detail, retryable=True)
    if any(isinstance(e, (TransportError, ConnectionError)) for e in chain):
        return _Failure("download_failed", detail, retryable=True)
    return _Failure("download_failed", detail, retryable=False)


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """The exception plus what caused it: yt-dlp wraps errors in DownloadError.exc_info and .cause."""
    out: list[BaseException] = []
    todo: list[object] = [exc]
    while todo:
        e = todo.pop()
        if not isinstance(e, BaseException) or any(e is seen for seen in out):
            continue
        out.append(e)
        exc_info = getattr(e, "exc_info", None)
        if isinstance(exc_info, tuple) and len(exc_info) == 3:
            todo.append(exc_info[1])
        todo += [getattr(e, "cause", None), e.__cause__, e.__context__]
    return out


def _retry_after(err: HTTPError) -> float | None:
    value = err.response.headers.get("Retry-After", "") if err.response is not None else ""
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _redact(text: str) -> str:
    """Drop URL query strings and fragments (signed media URLs carry tokens there) and cap length."""
    return _URL_QUERY_RE.sub(r"\1?<redacted>", text)[:_DETAIL_MAX]


def _imageio_ffmpeg() -> str | None:
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:
        return None


class _NullLogger:
    """yt-dlp logger that drops everything: errors come back as exceptions, and messages may hold URLs."""

    def debug(self, msg: str) -> None: ...
    def info(self, msg: str) -> None: ...
    def warning(self, msg: str) -> None: ...
    def error(self, msg: str) -> None: ...
