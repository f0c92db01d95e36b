"""Clip spans are honoured: a clip is decoded, scored and published on exactly [start_time, end_time).

A time-coded video (each frame's colour says its second, each second of sound is its own tone) is
curated from an AudioSet-style clip list; the media cache is pre-filled, so fetch reads it like a
previous download (no network).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from curation.config import load_config
from curation.fetch import FetchConfig
from curation.media.segment import scan_video, shot_spans
from curation.media.synthetic import TimecodeSpec, make_long_video, make_timecode_video
from curation.pipeline import curate, read_candidates
from curation.record import ClipRecord
from curation.stages.decode import DecodeStage
from curation.stages.fetch import FetchStage
from curation.stages.segment import SegmentStage

VIDEO = "TimeCode_01"  # an 11-character YouTube-style id
ROWS = (
    f"# YTID, start_seconds, end_seconds, positive_labels\n"
    f'{VIDEO}, 3.000, 7.000, "/m/09x0r,/m/0bt9lr"\n'  # 4 s: Speech, Dog
    f'{VIDEO}, 5.000, 35.000, "/m/04rlf"\n'  # 30 s: Music
    f"{VIDEO}, 36.000, 37.000\n"  # 1 s: shorter than segment.min_seconds
    f'{VIDEO}, 8.000, 12.000, "/m/notreal"\n'  # a MID the ontology does not define
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, TimecodeSpec]:
    root = tmp_path_factory.mktemp("spans")
    cache = root / "cache"
    (cache / "videos").mkdir(parents=True)
    spec = make_timecode_video(cache / "videos" / f"{VIDEO}.mp4", duration=40)
    (root / "clips.csv").write_text(ROWS, encoding="utf-8")
    return root, spec


def _config(root: Path, *extra: str):
    return load_config(None, [f"output={root / 'run'}", f"sources.clip_lists=[{root / 'clips.csv'}]",
                              f"fetch.cache_dir={root / 'cache'}", "embed.variant=tiny", "filter.mode=none",
                              "executor.clips_per_task=8", *extra])


def _dominant_hz(second: np.ndarray, rate: int = 16_000) -> float:
    spectrum = np.abs(np.fft.rfft(second * np.hanning(len(second))))
    return float(np.fft.rfftfreq(len(second), 1 / rate)[np.argmax(spectrum)])


def test_decoded_frames_and_audio_are_the_rows_span(corpus) -> None:
    root, spec = corpus
    candidates, invalid = read_candidates(_config(root))
    assert [(c.start_time, c.end_time) for c in candidates] == [(3.0, 7.0), (5.0, 35.0)]
    fetch = FetchStage(FetchConfig(cache_dir=root / "cache"))
    records = [r for c in candidates for r in fetch.process_one(ClipRecord(c))]
    decoded = list(DecodeStage(threads=1).process(records))
    for record in decoded:
        start, end = record.candidate.start_time, record.candidate.end_time
        seconds = round(end - start)
        assert record.frames.shape == (seconds, 224, 224, 3)
        assert record.audio.shape == (seconds * 16_000,)
        assert record.motion.shape == (seconds * 25,)
        # frame k is the one shown at start + k + 0.5 s: it carries second start + k
        assert [TimecodeSpec.second_of(f) for f in record.frames] == list(range(round(start), round(end)))
        # second k of the audio is the tone of source second start + k (1 Hz FFT bins; tones 50 Hz apart)
        for k in range(seconds):
            hz = _dominant_hz(record.audio[k * 16_000 : (k + 1) * 16_000])
            assert abs(hz - spec.tone_hz(round(start) + k)) <= 2.0, (start, k, hz)


def test_rows_are_scored_and_published_on_their_span(corpus) -> None:
    root, _ = corpus
    result = curate(_config(root), progress=False)
    rows = {r["start_time"]: r for r in pq.read_table(result.output / "records.parquet").to_pylist()}
    assert {(r["start_time"], r["end_time"]) for r in rows.values()} == {(3.0, 7.0), (5.0, 35.0)}
    vectors = pq.read_table(sorted((result.output / "tasks").glob("*/vectors.parquet"))[0]).to_pylist()
    dim = len(vectors[0]["audio"])
    by_clip = {v["clip_id"]: v for v in vectors}
    for start, seconds in ((3.0, 4), (5.0, 30)):
        row, vec = rows[start], by_clip[rows[start]["clip_id"]]
        audio_sec = np.asarray(vec["audio_sec"]).reshape(-1, dim)
        visual_sec = np.asarray(vec["visual_sec"]).reshape(-1, dim)
        assert audio_sec.shape == visual_sec.shape == (seconds, dim)  # one pair per second of the clip
        expected = np.mean(np.sum(audio_sec * visual_sec, axis=1))  # the score from its definition
        assert row["sim_av_temporal"] == pytest.approx(expected, abs=1e-5)
    for row in rows.values():  # every score is defined whatever the length
        for column in ("sim_av_instance", "sim_av_temporal", "temporal_contrast", "av_offset_s", "category_confidence"):
            assert row[column] is not None and np.isfinite(row[column]), column
    # labels from the clip list, named from the shipped AudioSet ontology
    assert rows[3.0]["labels"] == ["Speech", "Dog"] and rows[3.0]["label_ids"] == ["/m/09x0r", "/m/0bt9lr"]
    assert rows[5.0]["labels"] == ["Music"]
    errors = pq.read_table(result.output / "errors.parquet").to_pylist()
    reasons = {e["reason"]: e for e in errors}
    assert "accepted 2-60 s" in reasons["span_out_of_range"]["detail"]
    assert reasons["span_out_of_range"]["origin"].endswith("clips.csv:4")
    assert "/m/notreal" in reasons["unknown_label"]["detail"]


def test_labels_reach_the_published_dataset(corpus, tmp_path) -> None:
    from builder.build import build_dataset
    from builder.release import ReleaseInfo

    root, _ = corpus
    result = curate(_config(root), progress=False)  # resumes the run above: finished tasks are reused
    out = build_dataset(tmp_path / "acav1m", result.output / "records.parquet",
                        release=ReleaseInfo(run=result.summary)).out_dir
    published = pq.read_table(sorted((out / "data" / "default").glob("*.parquet")), columns=["start_time", "labels"])
    assert sorted(map(tuple, (r.values() for r in published.to_pylist()))) == [
        (3.0, ["Speech", "Dog"]), (5.0, ["Music"])]
    card = (out / "README.md").read_text()
    assert "| Human sounds | 1 |" in card and "| Animal | 1 |" in card and "| Music | 1 |" in card


def test_shots_variable_cuts_each_shot_between_min_and_max(tmp_path) -> None:
    # shots of 3.0, 1.2 (too short), 13.0 (split in two) and 5.0 s
    spec = make_long_video(tmp_path / "long.mp4", [(3.0, "flat"), (1.2, "checker"), (13.0, "stripes"),
                                                   (5.0, "blocks")], seed=3, width=160, height=120)
    assert spec.cuts == pytest.approx((3.0, 4.2, 17.2))
    expected = [(0.0, 3.0), (4.2, 10.7), (10.7, 17.2), (17.2, 22.2)]
    assert shot_spans(scan_video(spec.path), 2.0, 10.0) == expected  # milliseconds, exactly
    from curation.sources import Candidate

    whole = Candidate("abcdef0123456789_000000000", "abcdef0123456789", "long.mp4", 0.0, None, "local",
                      local_path=str(spec.path))
    stage = SegmentStage("shots-variable", min_seconds=2.0, max_seconds=10.0)
    clips = list(stage.process_one(ClipRecord(whole, media_path=str(spec.path))))
    assert [(c.candidate.start_time, c.candidate.end_time) for c in clips] == expected
    assert [c.clip_id for c in clips][1] == "abcdef0123456789_000004200"
    decoded = list(DecodeStage(threads=1).process(clips))
    assert [len(r.frames) for r in decoded] == [3, 6, 6, 5]  # 6.5 s -> frames at 0.5 .. 5.5 s
    assert [len(r.audio) for r in decoded] == [48_000, 104_000, 104_000, 80_000]


def test_calibration_null_pairs_clips_of_different_lengths_over_their_common_seconds() -> None:
    import pyarrow as pa

    from curation.calibrate import corpus_from_vectors

    rng = np.random.default_rng(0)
    dim, steps = 4, (2, 3, 5)
    audio_sec = [rng.normal(size=(t, dim)) for t in steps]
    visual_sec = [rng.normal(size=(t, dim)) for t in steps]
    vectors = pa.table({
        "audio": [rng.normal(size=dim).tolist() for _ in steps], "visual": [rng.normal(size=dim).tolist() for _ in steps],
        "text": pa.nulls(3, pa.list_(pa.float32())),
        "audio_sec": [a.ravel().tolist() for a in audio_sec], "visual_sec": [v.ravel().tolist() for v in visual_sec]})
    corpus = corpus_from_vectors(vectors, ["a", "b", "c"])
    i, j = np.array([0, 2, 1]), np.array([2, 1, 1])
    got = corpus.pair_scores("av_temporal", i, j)

    def unit(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    for k, (a, b) in enumerate(zip(i, j)):
        t = min(steps[a], steps[b])
        expected = np.mean(np.sum(unit(audio_sec[a][:t]) * unit(visual_sec[b][:t]), axis=1))
        assert got[k] == pytest.approx(expected, abs=1e-5)
