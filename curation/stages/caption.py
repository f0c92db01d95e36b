"""Caption: a video caption, an audio caption and one condensed caption per clip (ACAV-1M §3.1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from curation.caption import CaptionConfig, Captioner
from curation.errors import ClipError
from curation.record import ClipRecord, Failure
from curation.stage import Resources, Stage

CAPTION_COLUMNS = ("visual_caption", "audio_caption", "caption", "caption_language", "caption_models",
                   "caption_prompt_version")


class CaptionStage(Stage):
    name = "caption"

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.config = CaptionConfig.from_dict(settings)
        if not self.config.is_configured:
            raise ValueError("caption settings name no captioner; leave `caption.settings` empty to skip captioning")
        self.resources = Resources(cpus=1.0, gpus=0.0, memory_gb=16.0, model="captioners")
        self.captioner: Captioner | None = None

    def setup(self) -> None:
        self.captioner = Captioner(self.config)

    def process(self, batch: list[ClipRecord]) -> Iterable[ClipRecord | Failure]:
        if self.captioner is None:
            self.setup()
        results = self.captioner.caption_batch(
            [r.clip_id for r in batch], [r.frames for r in batch], [r.audio for r in batch])
        for record, result in zip(batch, results):
            if isinstance(result, ClipError):
                yield Failure(record.clip_id, self.name, result.reason, result.detail)
                continue
            record.columns.update({column: getattr(result, column) for column in CAPTION_COLUMNS})
            yield record

    def stats(self) -> dict[str, Any]:
        return self.captioner.stats() if self.captioner is not None else {}

    def describe(self) -> dict[str, str]:
        captioner = self.captioner or Captioner(self.config)
        return {"captions": f"{captioner.caption_models} (prompts {self.config.prompt_version})"}
