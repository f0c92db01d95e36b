"""Caption: a video caption, an audio caption and one condensed caption per clip (ACAV-1M §3.1)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from builder import schema
from curation.caption import CaptionConfig, Captioner
from curation.caption.result import models_string
from curation.embed.base import device_gpus
from curation.errors import ClipError
from curation.record import ClipRecord, Failure
from curation.stage import Resources, Stage

CAPTION_COLUMNS = tuple(column.name for column in schema.CAPTION_COLUMNS)  # each is a CaptionResult field


class CaptionStage(Stage):
    name = "caption"

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.config = CaptionConfig.from_dict(settings)
        if not self.config.is_configured:
            raise ValueError("caption settings name no captioner; leave `caption.settings` empty to skip captioning")
        self.resources = Resources(cpus=1.0, gpus=device_gpus(self.config.device),
                                   memory_gb=16.0, model="captioners")
        self.captioner: Captioner | None = None

    def setup(self) -> None:
        self.captioner = Captioner(self.config)

    def process(self, batch: list[ClipRecord]) -> Iterable[ClipRecord | Failure]:
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

    def output_settings(self) -> dict[str, Any]:
        """The caption config (never its API key) and the prompt texts' digests."""
        from curation.caption.prompts import load_prompts
        from curation.tasks import plain

        config = dataclasses.asdict(self.config)
        if config.get("summary_api"):
            config["summary_api"].pop("api_key", None)
        prompts = load_prompts(self.config.prompt_version)
        return {"config": plain(config), "prompts": [prompts.digest(role) for role in ("video", "audio", "summarize")]}

    def describe(self) -> dict[str, str]:
        c = self.config
        summary = c.summary_api.model if c.summary_api is not None else c.summary_model.model_id
        models = models_string(c.video_model.model_id, c.audio_model.model_id, summary)
        return {"captions": f"{models} (prompts {c.prompt_version})"}
