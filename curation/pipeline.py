"""The ACAV-1M curation run: read candidates, run the per-clip stages as tasks, then filter globally.

Outputs in `config.output`:
- `records.parquet`   every scored candidate with flags (the `candidates` config; `acav1m build` input)
- `embeddings.parquet` float16 vectors per clip (the `embeddings` config)
- `features.parquet`  per-layer ImageBind trunk features (float16) for ACAV100M selection (when enabled)
- `media.parquet`     FLAC audio + mp4 of kept clips with a redistributable licence (when enabled)
- `errors.parquet`    every rejected input row or clip: clip id, stage, reason, detail
- `probes.parquet`    with `metadata.enabled`: each source video's probed metadata or probe failure
- `run.json`          thresholds, retention per stage, models (the card's RunSummary)
- `stats.json`        per-stage counts and failure reasons; `config.yaml` the effective config
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from builder.release import RetentionRow, RunSummary
from builder.schema import CONFIGS
from curation import output_dir
from curation import sources as src
from curation.atomic import write_parquet_atomic, write_text_atomic
from curation.config import MediaSettings, PipelineConfig, config_to_yaml
from curation.executor import (
    ERROR_SCHEMA,
    StageCounts,
    TaskResult,
    TaskWriter,
    counter_sum,
    read_task_tables,
    run_tasks,
)
from curation.fetch import FetchConfig
from curation.filters import (
    NORMALIZATION,
    FilterOutcome,
    apply_filters,
    apply_voiceover,
    realign_row,
    sync_flags,
    with_columns,
)
from curation.record import ClipRecord
from curation.stage import Stage

log = logging.getLogger("acav1m.curate")
SCORED_COLUMNS = CONFIGS["default"].column_names
VECTOR_SCHEMA = pa.schema(
    [("clip_id", pa.string())]
    + [(name, pa.list_(pa.float32())) for name in ("audio", "visual", "text", "audio_sec", "visual_sec")]
)

MEDIA_REF_SCHEMA = pa.schema([("clip_id", pa.string()), ("media_path", pa.string()), ("media_offset", pa.float64())])


def build_stages(config: PipelineConfig) -> list[Stage]:
    """The configured chain; captioning sits before embedding so captions can be embedded and scored."""
    from curation.media.decode import DecodeConfig
    from curation.stages.categorise import DEFAULT_PROMPTS, CategoriseStage
    from curation.stages.decode import DecodeStage
    from curation.stages.embed import EmbedStage
    from curation.stages.fetch import FetchStage
    from curation.stages.score import ScoreStage
    from curation.stages.segment import SegmentStage

    output = Path(config.output).absolute()  # workers elsewhere (Ray actors, other nodes) see the same paths
    stages: list[Stage] = [
        FetchStage(fetch_config(config)),
        SegmentStage(config.segment.mode, config.segment.clip_seconds, config.segment.max_clips,
                     config.segment.detector, config.segment.min_seconds, config.segment.max_seconds),
        DecodeStage(DecodeConfig(), threads=config.decode.threads),
    ]
    if config.caption.settings:
        from curation.stages.caption import CaptionStage

        stages.append(CaptionStage(config.caption.settings))
    stages += [EmbedStage(config.embed, layers=_selection_layers(config)), ScoreStage()]
    if config.filter.realign:
        from curation.stages.realign import RealignStage

        f = config.filter
        stages.append(RealignStage(config.embed, f.sync_min_confidence, f.realign_min_s, f.realign_max_s))
    if config.voiceover.enabled:
        from curation.stages.voiceover import VoiceoverStage

        stages.append(VoiceoverStage(config.voiceover, config.embed, output / "stems"))
    stages.append(
        CategoriseStage(config.embed, config.categorise.prompts or DEFAULT_PROMPTS, config.categorise.temperature))
    return stages


def fetch_config(config: PipelineConfig) -> FetchConfig:
    """Downloads and metadata probes share these limits (deadline, retries, rate limits, cookies) and the cache."""
    cache = Path(config.fetch.cache_dir or Path(config.output) / "cache").absolute()  # the same path on every worker
    return replace(config.fetch, cache_dir=cache)


class ScoredWriter(TaskWriter):
    """Per task: the schema columns of every finished clip, and its float32 vectors for global steps
    (with `layers`, also its per-layer selection features)."""

    def __init__(self, layers: bool = False) -> None:
        self.layers = layers

    def schemas(self) -> dict[str, pa.Schema]:
        from curation.selection.feature_table import LAYERS_SCHEMA

        layers = {"layers": LAYERS_SCHEMA} if self.layers else {}
        return {"scored": CONFIGS["default"].arrow_schema, "vectors": VECTOR_SCHEMA, "media_refs": MEDIA_REF_SCHEMA,
                **layers}

    def rows(self, record: ClipRecord) -> dict[str, dict]:
        c = record.candidate
        row = dict.fromkeys(SCORED_COLUMNS)
        row.update(clip_id=c.clip_id, video_id=c.video_id, url=c.url, start_time=c.start_time,
                   end_time=c.end_time, source=c.source, license=c.license, labels=list(c.labels),
                   label_ids=list(c.label_ids))
        unknown = set(record.columns) - set(row)
        if unknown:  # e.g. a stage writing a column the global filters own
            raise KeyError(f"{record.clip_id}: stages wrote columns outside the scored schema: {sorted(unknown)}")
        row.update(record.columns)
        e = record.embeddings
        vectors = {"clip_id": c.clip_id, "text": e["text"].tolist() if "text" in e else None}
        vectors.update({k: np.asarray(e[k], np.float32).ravel().tolist() for k in ("audio", "visual", "audio_sec", "visual_sec")})
        media = {"clip_id": c.clip_id, "media_path": record.media_path, "media_offset": record.media_offset}
        tables = {"scored": row, "vectors": vectors, "media_refs": media}
        if self.layers:
            from curation.selection.feature_table import layer_row

            tables["layers"] = layer_row(c.clip_id, e.get("layers"))
        return tables


@dataclass
class RunResult:
    output: Path
    summary: RunSummary
    counts: dict[str, StageCounts]
    reasons: Counter
    scored: int = 0  # candidates that reached the filters
    kept: int = 0  # ... and passed them

    def nothing_kept_message(self) -> str:
        """Why an empty `default` config happened, and what to try, for the one-line CLI error."""
        s = self.summary
        thresholds = ", ".join(f"{k} {v:g}" if isinstance(v, (int, float)) else f"{k} {v}"
                               for k, v in s.thresholds.items()) or "none"
        why = "; the scores came from random weights" if s.random_weights else ""
        return (f"0 of {self.scored} scored clips passed the filters (mode {s.filter_mode}, thresholds: {thresholds}"
                f"{why}); records.parquet keeps every scored clip with its flags: try --set filter.mode=none, "
                "another --filters preset, or filter.mode=calibrated")

    def retention_table(self) -> str:
        lines = [f"{'stage':<22}{'in':>8}{'out':>8}{'failed':>8}{'kept':>8}"]
        for row in self.summary.retention:
            lines.append(f"{row.stage:<22}{row.inputs:>8}{row.outputs:>8}{row.failures:>8}{row.retained:>8.0%}")
        return "\n".join(lines)


def read_candidates(config: PipelineConfig) -> tuple[list[src.Candidate], list[src.InvalidRow]]:
    from curation.ontology import load_ontology

    seen: set[str] = set()
    items: list[src.Item] = []
    s = config.sources
    clip_options = {"span": (config.segment.min_seconds, config.segment.max_seconds),
                    "label_names": load_ontology(s.ontology).names if s.clip_lists else None}
    readers = (("clip_lists", src.read_clip_list, False), ("id_lists", src.read_id_list, False),
               ("url_lists", src.read_url_list, False), ("directories", src.scan_directory, True))
    for key, reader, folder in readers:
        for i, path in enumerate(getattr(s, key)):
            _check_input(f"sources.{key}[{i}]", Path(path), folder)
            items += reader(path, license=s.license, seen=seen, **(clip_options if key == "clip_lists" else {}))
    candidates = [i for i in items if isinstance(i, src.Candidate)]
    invalid = [i for i in items if isinstance(i, src.InvalidRow)]
    return candidates, invalid


def _check_input(key: str, path: Path, folder: bool) -> None:
    """A missing list or folder is a config mistake: name the key, not just the file."""
    if not path.exists():
        raise FileNotFoundError(f"config {key}: {path} does not exist")
    if folder and not path.is_dir():
        raise NotADirectoryError(f"config {key}: {path} is a file; `sources.directories` takes folders "
                                 "(put list files under clip_lists, id_lists or url_lists)")
    if not folder and path.is_dir():
        raise IsADirectoryError(f"config {key}: {path} is a folder; put it under `sources.directories`")


def curate(config: PipelineConfig, progress: bool = True, stages: list[Stage] | None = None,
           overwrite: bool = False) -> RunResult:
    """Run (or resume) the whole curation into `config.output`."""
    candidates, invalid = read_candidates(config)
    if not candidates:
        raise ValueError(f"no valid candidates in the configured sources ({len(invalid)} rows rejected)")
    stages = stages if stages is not None else build_stages(config)
    output = output_dir.claim(config.output, "curate", overwrite, legacy=("config.yaml", "tasks"))
    write_text_atomic(output / "config.yaml", config_to_yaml(config))
    screening = _screen_metadata(config, candidates, output, progress)
    layers = _selection_layers(config) > 0
    results = run_tasks(stages, screening.kept if screening else candidates, output, ScoredWriter(layers),
                        config.executor, progress)
    if layers:  # features.parquet: the per-layer feature table `acav1m select RUN` and selection read
        from curation.selection.feature_table import write_layer_table

        write_layer_table(output / "features.parquet", (read_task_tables(output, [r], "layers") for r in results))
    counts = _sum_counts(stages, results)
    reasons = sum((r.reasons for r in results), Counter())
    reasons.update(f"read:{row.reason}" for row in invalid)
    scored = read_task_tables(output, results, "scored")
    if screening:
        reasons.update(f"{e['stage']}:{e['reason']}" for e in screening.errors)
        scored = screening.attach(scored)
    outcome = _filter(config, scored, output, results)
    summary = _summary(config, stages, counts, invalid, candidates, outcome)
    if screening:
        summary.retention[1:1] = screening.retention  # after "read inputs", before fetch
        summary.extra["metadata"] = screening.report
    _write_outputs(output, outcome, results, invalid, summary, counts, reasons,
                   screening.errors if screening else [])
    if config.media.enabled:
        _write_media(output, outcome.table, read_task_tables(output, results, "media_refs"), config.media)
    kept = outcome.table.column("kept").to_numpy(zero_copy_only=False)
    return RunResult(output, summary, counts, reasons, scored=len(kept), kept=int(kept.sum()))


def _screen_metadata(config: PipelineConfig, candidates: list[src.Candidate], output: Path, progress: bool):
    """ACAV100M §3.1 before any task runs: probe every source video once, drop candidates by metadata."""
    if not config.metadata.enabled:
        return None
    from curation.stages.probe import screen_candidates

    screening = screen_candidates(candidates, config.metadata, fetch_config(config), output, progress)
    if not screening.kept:
        raise ValueError(f"the metadata filters rejected all {len(candidates)} candidates; see "
                         f"{output / 'probes.parquet'} and relax the `metadata` config")
    return screening


def _filter(config: PipelineConfig, scored: pa.Table, output: Path, results: list[TaskResult]) -> FilterOutcome:
    calibrated, report = None, {}
    if config.filter.calibrates is not None:
        from curation.calibrate import calibrated_thresholds

        step = max(1, math.ceil(len(results) * config.executor.clips_per_task / config.filter.calibration_clips))
        sample = results[::step]  # whole tasks spread over the run: memory bounded by calibration_clips
        vectors = read_task_tables(output, sample, "vectors")
        video_ids = read_task_tables(output, sample, "scored", ["video_id"]).column("video_id").to_pylist()
        calibrated, report = calibrated_thresholds(vectors, video_ids, scored, config.filter)
    thresholds = config.filter.thresholds(calibrated)
    outcome = apply_filters(scored, thresholds, sync_flags(scored, config.filter), config.filter.off_reasons())
    outcome.report = {"calibration": report} if report else {}
    if config.voiceover.enabled:
        outcome.report["avset_retention"] = apply_voiceover(outcome, thresholds)
    if config.selection.enabled:
        _select(config, outcome, output, results)
    if config.filter.realign:
        outcome.retention.append(realign_row(outcome.table))
    if config.filter.sync_max_offset_s is not None:
        outcome.thresholds["sync max offset (s)"] = config.filter.sync_max_offset_s
        outcome.thresholds["sync min confidence"] = config.filter.sync_min_confidence
    return outcome


def _select(config: PipelineConfig, outcome: FilterOutcome, output: Path, results: list[TaskResult]) -> None:
    """Keep the `selection.target_size` kept clips with the most audio-visual mutual information (ACAV100M)."""
    from curation.selection.feature_table import FeatureTable
    from curation.selection.stage import select_features

    s = config.selection
    table = outcome.table
    kept = table.column("kept").to_numpy(zero_copy_only=False)
    layer_table = output / "features.parquet"
    if s.layers and layer_table.exists():  # every captured trunk block of both modalities
        kept_ids = table.column("clip_id").filter(pa.array(kept)).to_pylist()
        features = FeatureTable(layer_table, clip_ids=kept_ids)
    else:  # the final embeddings: one audio and one visual clustering
        vectors = read_task_tables(output, results, "vectors", ["clip_id", "audio", "visual"]).filter(pa.array(kept))
        features = FeatureTable(pa.table({"clip_id": vectors.column("clip_id"), "audio_imagebind": vectors.column("audio"),
                                          "visual_imagebind": vectors.column("visual")}))
    size = min(s.target_size, len(features))
    chosen: set[str] = set()
    if size:
        result, used = select_features(features, replace(s, target_size=size))
        chosen = set(result.clip_ids.tolist())
        outcome.report["selection"] = used
        log.info("selection: %s", used)
    selected = np.asarray([c in chosen for c in table.column("clip_id").to_pylist()])
    reasons = [",".join(filter(None, [r, "selection"])) if k and not sel else r
               for r, k, sel in zip(table.column("reject_reason").to_pylist(), kept, selected)]
    outcome.retention.append(RetentionRow("MI subset selection", int(kept.sum()), int((kept & selected).sum())))
    outcome.table = with_columns(table, {"kept": pa.array(kept & selected), "reject_reason": pa.array(reasons, pa.string())})


def _selection_layers(config: PipelineConfig) -> int:
    """Trunk blocks per modality the embed stage keeps for selection: captured whether or not selection is
    enabled, so turning selection on for a finished run is a global step that recomputes no task."""
    return config.selection.layers if config.embed.backend == "imagebind" else 0


def _sum_counts(stages: list[Stage], results: list[TaskResult]) -> dict[str, StageCounts]:
    counts = {stage.name: StageCounts() for stage in stages}
    for result in results:
        for name, c in result.counts.items():
            counts[name].add(c)
    return counts


def _summary(
    config: PipelineConfig,
    stages: list[Stage],
    counts: dict[str, StageCounts],
    invalid: list[src.InvalidRow],
    candidates: list[src.Candidate],
    outcome: FilterOutcome,
) -> RunSummary:
    models: dict[str, str] = {}
    for stage in stages:
        models.update(stage.describe())
    retention = [RetentionRow("read inputs", len(candidates) + len(invalid), len(candidates), len(invalid))]
    retention += [RetentionRow(name, c.inputs, c.outputs, c.failures) for name, c in counts.items()]
    retention += outcome.retention
    return RunSummary(
        filter_mode=config.filter.mode,
        normalization=NORMALIZATION,
        thresholds=outcome.thresholds,
        skipped_filters=outcome.skipped,
        retention=retention,
        models=models,
        random_weights=any("random weights" in value for value in models.values()),
        extra=outcome.report,
    )


def _write_outputs(
    output: Path,
    outcome: FilterOutcome,
    results: list[TaskResult],
    invalid: list[src.InvalidRow],
    summary: RunSummary,
    counts: dict[str, StageCounts],
    reasons: Counter,
    screened: list[dict],
) -> None:
    records = outcome.table.select(CONFIGS["candidates"].column_names).cast(CONFIGS["candidates"].arrow_schema)
    write_parquet_atomic(output / "records.parquet", records)
    schema = CONFIGS["embeddings"].arrow_schema
    tmp = output / "embeddings.parquet.tmp"
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for result in results:  # one task at a time: memory does not grow with the run
            v = read_task_tables(output, [result], "vectors", ["clip_id", "text", "audio", "visual"])
            writer.write_table(pa.table({
                "clip_id": v.column("clip_id"),
                "text_embedding": v.column("text").cast(pa.list_(pa.float16())),
                "audio_embedding": v.column("audio").cast(pa.list_(pa.float16())),
                "visual_embedding": v.column("visual").cast(pa.list_(pa.float16())),
                "embedding_model": pa.array([summary.models.get("embedder", "")] * v.num_rows, pa.string()),
            }, schema=schema))
    os.replace(tmp, output / "embeddings.parquet")
    errors = read_task_tables(output, results, "errors")
    read_errors = pa.Table.from_pylist(
        [{"clip_id": None, "stage": "read", "reason": r.reason, "detail": r.detail or r.raw, "video_id": None,
          "input": r.raw, "origin": f"{r.path}:{r.line_no}" if r.line_no else r.path} for r in invalid],
        schema=ERROR_SCHEMA,
    )
    screened_errors = pa.Table.from_pylist(screened, schema=ERROR_SCHEMA)
    all_errors = pa.concat_tables([read_errors, screened_errors, errors.cast(ERROR_SCHEMA)])
    write_parquet_atomic(output / "errors.parquet", all_errors)
    write_text_atomic(output / "run.json", json.dumps(summary.to_dict(), indent=1, sort_keys=True))
    stage_stats: dict = {}
    for result in results:
        counter_sum(stage_stats, result.stage_stats)
    stats = {"stages": {name: vars(c) for name, c in counts.items()}, "failure_reasons": dict(sorted(reasons.items())),
             "retention": [vars(r) for r in summary.retention], "stage_stats": stage_stats,
             "failure_examples": _failure_examples(all_errors)}
    write_text_atomic(output / "stats.json", json.dumps(stats, indent=1, sort_keys=True))


def _failure_examples(errors: pa.Table, per_reason: int = 3) -> dict[str, list[dict]]:
    """A few rows per "stage:reason", with the input and where it was listed, to find the file behind a count."""
    examples: dict[str, list[dict]] = {}
    for row in errors.select(["stage", "reason", "clip_id", "input", "origin", "detail"]).to_pylist():
        group = examples.setdefault(f"{row.pop('stage')}:{row.pop('reason')}", [])
        if len(group) < per_reason:
            group.append(row)
    return examples


def _write_media(output: Path, records: pa.Table, refs: pa.Table, settings: MediaSettings) -> None:
    """Re-decode and encode kept clips one at a time (memory stays at one clip) into media.parquet."""
    from curation.media.decode import DecodeConfig, decode_clip
    from curation.media.export import clip_mp4_bytes, flac_bytes

    where = {r["clip_id"]: r for r in refs.to_pylist()}
    schema = CONFIGS["media"].arrow_schema
    tmp = output / "media.parquet.tmp"
    rows: list[dict] = []
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for row in records.filter(records.column("kept")).to_pylist():
            if (row["source_license"] or row["license"]) not in settings.licenses:  # the platform's licence when known
                continue
            ref = where[row["clip_id"]]
            start, end = row["start_time"] - ref["media_offset"], row["end_time"] - ref["media_offset"]
            clip = decode_clip(ref["media_path"], start, end, DecodeConfig(motion=False))
            if shift := row["av_shift_s"]:  # re-aligned: the audio that was scored, under the same frames
                clip = decode_clip(ref["media_path"], start + shift, end + shift, DecodeConfig(motion=False))
            rows.append({"clip_id": row["clip_id"], "audio": {"bytes": flac_bytes(clip.audio), "path": None},
                         "video": {"bytes": clip_mp4_bytes(ref["media_path"], start, end, clip.audio),
                                   "path": None}})
            if len(rows) >= settings.rows_per_write:  # bounded memory; the builder regroups rows anyway
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                rows = []
        writer.write_table(pa.Table.from_pylist(rows, schema=schema))
    os.replace(tmp, output / "media.parquet")


__all__ = ["PipelineConfig", "RunResult", "build_stages", "curate", "read_candidates"]
