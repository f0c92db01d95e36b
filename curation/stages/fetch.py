"""Fetch: bring each candidate's media onto local disk (yt-dlp for remote sources, cached)."""

from __future__ import annotations

from collections.abc import Iterable

from curation.fetch import FetchConfig, fetch
from curation.record import ClipRecord
from curation.stage import PerClipStage, Resources


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

    def describe(self) -> dict[str, str]:
        return {"fetch": "yt-dlp (section download when ffmpeg is available, else whole video)"}
