"""Fetch: bring each candidate's media onto local disk (yt-dlp for remote sources, cached)."""

from __future__ import annotations

from collections.abc import Iterable

from curation.fetch import FetchConfig, fetch
from curation.record import ClipRecord
from curation.stage import PerClipStage, Resources

OPERATIONAL = {"cache_dir", "timeout_s", "socket_timeout_s", "retries", "backoff_base_s", "backoff_max_s",
               "jitter_seed", "rate_limit", "sleep_interval_s", "cookies_file", "cookies_from_browser"}


class FetchStage(PerClipStage):
    name = "fetch"
    resources = Resources(cpus=0.25)  # network bound

    def __init__(self, config: FetchConfig) -> None:
        self.config = config

    def process_one(self, record: ClipRecord) -> Iterable[ClipRecord]:
        media = fetch(record.candidate, self.config)
        record.media_path = str(media.path)
        record.media_offset = media.section_start if media.method == "section" else 0.0
        yield record

    def output_settings(self) -> dict:
        """What decides the fetched bytes (format, cutting); where the cache lives and how patiently the
        network is retried do not, so changing those reuses finished tasks."""
        from curation.tasks import plain

        return {k: v for k, v in plain(self.config).items() if k not in OPERATIONAL}

    def describe(self) -> dict[str, str]:
        return {"fetch": "yt-dlp (section download when ffmpeg is available, else whole video)"}
