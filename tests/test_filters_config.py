"""Filter modes, normalisation, flags and reasons; config loading and overrides; executor contract."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from builder.schema import CONFIGS
from curation.config import PipelineConfig, config_to_yaml, load_config
from curation.errors import ClipError
from curation.executor import ExecutorConfig, TaskWriter, read_task_tables, run_tasks, task_dir
from curation.filters import FilterConfig, apply_filters, normalise, sync_flags
from curation.record import ClipRecord
from curation.sources import Candidate, clip_id
from curation.stage import PerClipStage


def _scored(rows: list[dict]) -> pa.Table:
    base = dict.fromkeys(CONFIGS["default"].column_names)
    return pa.Table.from_pylist([dict(base, **row) for row in rows], schema=CONFIGS["default"].arrow_schema)


def test_normalisation_is_cos_plus_one_over_two():
    assert normalise(0.0) == 0.5 and normalise(1.0) == 1.0 and normalise(-1.0) == 0.0


@pytest.mark.parametrize("mode, expected", [
    ("paper-uniform", {"language": 0.5, "instance": 0.5, "temporal": 0.5}),
    ("paper-tuned", {"language": 0.6, "instance": 0.5, "temporal": 0.7}),
    ("none", {}),
])
def test_paper_modes(mode, expected):
    assert FilterConfig(mode=mode).thresholds() == expected


def test_override_and_unknown_mode():
    assert FilterConfig(mode="paper-tuned", temporal=0.9).thresholds()["temporal"] == 0.9
    with pytest.raises(ValueError, match="filter mode must be one of"):
        FilterConfig(mode="strict")
    with pytest.raises(ValueError, match="needs thresholds fitted"):
        FilterConfig(mode="calibrated").thresholds()


def test_flags_reasons_and_sequential_retention():
    # instance cos 0.1 -> 0.55 (passes 0.5); temporal cos 0.3 -> 0.65 (fails 0.7)
    table = _scored([
        {"sim_av_instance": 0.1, "sim_av_temporal": 0.5, "sim_text_audio": 0.3, "sim_text_visual": 0.3},
        {"sim_av_instance": 0.1, "sim_av_temporal": 0.3, "sim_text_audio": 0.3, "sim_text_visual": 0.1},
        {"sim_av_instance": -0.2, "sim_av_temporal": 0.3, "sim_text_audio": 0.3, "sim_text_visual": 0.3},
    ])
    outcome = apply_filters(table, FilterConfig(mode="paper-tuned").thresholds())
    rows = outcome.table.to_pylist()
    assert [r["kept"] for r in rows] == [True, False, False]
    assert [r["reject_reason"] for r in rows] == [None, "language,temporal", "instance,temporal"]
    assert rows[1]["pass_language"] is False and rows[1]["pass_instance"] is True
    assert [(r.stage, r.inputs, r.outputs) for r in outcome.retention] == [
        ("language filter", 3, 2), ("instance filter", 2, 1), ("temporal filter", 1, 1)]


def test_language_filter_is_skipped_without_captions():
    table = _scored([{"sim_av_instance": 0.5, "sim_av_temporal": 0.5}] * 2)
    outcome = apply_filters(table, FilterConfig(mode="paper-uniform").thresholds())
    assert "language" in outcome.skipped and "no captioner" in outcome.skipped["language"]
    assert outcome.table.column("pass_language").to_pylist() == [None, None]
    assert outcome.table.column("kept").to_pylist() == [True, True]


def test_sync_filter_uses_offset_and_confidence():
    table = _scored([
        {"av_offset_s": 0.02, "av_offset_confidence": 0.6},
        {"av_offset_s": 0.4, "av_offset_confidence": 0.6},
        {"av_offset_s": 0.0, "av_offset_confidence": 0.0},
        {"av_offset_s": None, "av_offset_confidence": None},
    ])
    flags = sync_flags(table, FilterConfig(mode="none", sync_max_offset_s=0.15))
    assert flags["sync"].tolist() == [True, False, False, False]
    assert sync_flags(table, FilterConfig(mode="none")) == {}


def test_config_yaml_overrides_and_errors(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("output: /tmp/x\nfilter:\n  mode: paper-uniform\nembed:\n  variant: tiny\n")
    config = load_config(path, ["filter.temporal=0.8", "executor.workers=2", "sources.clip_lists=[a.csv, b.csv]"])
    assert config.filter.mode == "paper-uniform" and config.filter.temporal == 0.8
    assert config.executor.workers == 2 and config.sources.clip_lists == ["a.csv", "b.csv"]
    assert load_config(None, []) == PipelineConfig()
    round_trip = tmp_path / "effective.yaml"
    round_trip.write_text(config_to_yaml(config))
    assert load_config(round_trip) == config
    with pytest.raises(ValueError, match=r"config filter: unknown keys \['treshold'\]"):
        load_config(None, ["filter.treshold=0.5"])
    with pytest.raises(ValueError, match=r"config executor.workers: 'two' is not"):
        load_config(None, ["executor.workers=two"])
    with pytest.raises(ValueError, match="is not key.sub=value"):
        load_config(None, ["filter.mode"])


class _Halve(PerClipStage):
    """Fails clips whose start is a multiple of 20 s and splits the others in two."""

    name = "halve"

    def process_one(self, record):
        if record.candidate.start_time % 20 == 0:
            raise ClipError("too_short", f"{record.clip_id} planted failure")
        for offset in (0.0, 5.0):
            start = record.candidate.start_time + offset
            yield ClipRecord(Candidate(clip_id("video", start), "video", "u", start, start + 5, "local"))


class _Rows(TaskWriter):
    def schemas(self):
        return {"out": pa.schema([("clip_id", pa.string())])}

    def rows(self, record):
        return {"out": {"clip_id": record.clip_id}}


def test_executor_counts_failures_expands_and_skips_finished_tasks(tmp_path):
    candidates = [Candidate(clip_id("video", s), "video", "u", float(s), s + 10.0, "local") for s in range(0, 100, 10)]
    config = ExecutorConfig(clips_per_task=4, batch_size=3)
    results = run_tasks([_Halve()], candidates, tmp_path, _Rows(), config, progress=False)
    assert len(results) >= 2
    assert sum(r.counts["halve"].inputs for r in results) == 10
    assert sum(r.counts["halve"].failures for r in results) == 5
    assert sum(r.counts["halve"].outputs for r in results) == 10
    out = read_task_tables(tmp_path, results, "out").column("clip_id").to_pylist()
    assert len(out) == 10 and len(set(out)) == 10
    errors = read_task_tables(tmp_path, results, "errors").to_pylist()
    assert [e["reason"] for e in errors] == ["too_short"] * 5
    first, last = results[0].key, results[-1].key
    marker = task_dir(tmp_path, first) / "stats.json"
    mtime = marker.stat().st_mtime_ns
    task_dir(tmp_path, last).rename(tmp_path / "tasks" / f"{last}.partial")  # as if killed mid-write
    again = run_tasks([_Halve()], candidates, tmp_path, _Rows(), config, progress=False)
    assert marker.stat().st_mtime_ns == mtime, "a finished task is never rerun"
    assert read_task_tables(tmp_path, again, "out").column("clip_id").to_pylist() == out
    assert not (tmp_path / "tasks" / f"{last}.partial").exists()


def test_executor_in_worker_processes_matches_inline(tmp_path):
    candidates = [Candidate(clip_id("video", s), "video", "u", float(s), s + 10.0, "local") for s in range(10, 200, 10)]
    inline = run_tasks([_Halve()], candidates, tmp_path / "a", _Rows(), ExecutorConfig(clips_per_task=5), False)
    pooled = run_tasks([_Halve()], candidates, tmp_path / "b", _Rows(), ExecutorConfig(workers=2, clips_per_task=5), False)
    assert read_task_tables(tmp_path / "a", inline, "out").equals(read_task_tables(tmp_path / "b", pooled, "out"))
    assert np.array_equal(
        [r.counts["halve"].failures for r in inline], [r.counts["halve"].failures for r in pooled])


def test_writing_an_undeclared_column_is_an_error():
    from curation.record import ClipRecord

    record = ClipRecord(Candidate(clip_id("video", 0.0), "video", "u", 0.0, 10.0, "local"))
    record.columns["sim_av_instance"] = 0.5
    record.columns.update(category="music")
    with pytest.raises(KeyError, match="sim_av_instnce"):
        record.columns["sim_av_instnce"] = 0.5  # a typo never silently disappears
    with pytest.raises(KeyError, match="not declared"):
        record.columns.update(caption_lang="en")
    assert dict(record.columns) == {"sim_av_instance": 0.5, "category": "music"}


def test_a_stage_writing_an_undeclared_column_stops_the_run(tmp_path):
    """A bug is not a bad clip: it must not turn into error rows (bad clips do)."""
    from curation.errors import ContractError
    from curation.stage import PerClipStage

    class Typo(PerClipStage):
        name = "typo"

        def process_one(self, record):
            record.columns["sim_av_instnce"] = 0.1
            yield record

    candidates = [Candidate(clip_id("video", s), "video", "u", float(s), s + 10.0, "local") for s in (0.0, 10.0)]
    with pytest.raises(ContractError, match="sim_av_instnce"):
        run_tasks([Typo()], candidates, tmp_path, _Rows(), ExecutorConfig(), progress=False)
