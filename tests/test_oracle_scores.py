"""Oracles for the score columns and category labels: plain numpy from the definitions in the schema/README.

Definitions (builder/schema.py column descriptions, README "Choices where the papers are silent"):
cosines of the caption, audio and mean-frame embeddings; `sim_av_temporal` the mean over seconds t of
cos(audio window centred on t, frame t); `temporal_contrast` that aligned mean minus the mean over
shifts of 1, 2 and 3 s (both directions) of the shifted pairs' mean cosine; categories a softmax at
temperature T over cos(prototype, unit(audio + visual)), a prototype being the normalised mean of its
prompts' text embeddings. Nothing here calls the scoring code to produce an expected value.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from curation.embed import EmbedderConfig, build_embedder
from curation.media.synthetic import make_clip
from curation.record import ClipRecord
from curation.sources import Candidate
from curation.stages.categorise import DEFAULT_PROMPTS, CategoriseStage
from curation.stages.decode import DecodeStage
from curation.stages.embed import EmbedStage
from curation.stages.score import ScoreStage, clip_scores

TINY = EmbedderConfig(variant="tiny", device="cpu")


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def reference_scores(text, audio, visual, audio_sec, visual_sec, shifts=(1, 2, 3)) -> dict[str, float | None]:
    """The published definitions, one cosine at a time."""
    steps = len(audio_sec)
    aligned = np.mean([cosine(audio_sec[t], visual_sec[t]) for t in range(steps)])
    per_shift = []
    for s in shifts:
        pairs = [cosine(audio_sec[t + s], visual_sec[t]) for t in range(steps - s)]  # audio behind the picture
        pairs += [cosine(audio_sec[t], visual_sec[t + s]) for t in range(steps - s)]  # audio ahead
        per_shift.append(np.mean(pairs))
    return {
        "sim_text_audio": None if text is None else cosine(text, audio),
        "sim_text_visual": None if text is None else cosine(text, visual),
        "sim_av_instance": cosine(audio, visual),
        "sim_av_temporal": float(aligned),
        "temporal_contrast": float(aligned - np.mean(per_shift)),
    }


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _embeddings(rng: np.random.Generator, dim: int = 24, steps: int = 10, caption: bool = True) -> dict:
    """Unit vectors with structure (audio_sec correlated with visual_sec at a lag) so every score differs."""
    visual_sec = _unit(rng.normal(size=(steps, dim)))
    audio_sec = _unit(0.7 * np.roll(visual_sec, 1, axis=0) + 0.5 * visual_sec + rng.normal(size=(steps, dim)) * 0.6)
    e = {"audio": _unit(rng.normal(size=dim) + audio_sec.mean(0)), "visual": _unit(visual_sec.mean(0)),
         "audio_sec": audio_sec.astype(np.float32), "visual_sec": visual_sec.astype(np.float32)}
    if caption:
        e["text"] = _unit(rng.normal(size=dim) + e["audio"] - 0.5 * e["visual"])
    return {k: np.asarray(v, np.float32) for k, v in e.items()}


@pytest.mark.parametrize("seed", range(5))
def test_clip_scores_follow_the_published_definitions(seed):
    e = _embeddings(np.random.default_rng(seed), caption=seed % 2 == 0)
    expected = reference_scores(e.get("text"), e["audio"], e["visual"], e["audio_sec"], e["visual_sec"])
    got = clip_scores(e)
    assert set(got) == set(expected)
    for name, value in expected.items():
        if value is None:
            assert got[name] is None, name
        else:
            assert got[name] == pytest.approx(value, abs=1e-6), name
    # the five numbers are distinct here, so a score computed from the wrong pair of vectors cannot pass
    values = [v for v in expected.values() if v is not None]
    assert min(abs(a - b) for i, a in enumerate(values) for b in values[i + 1:]) > 1e-3


def _record(path: Path, clip: str) -> ClipRecord:
    record = ClipRecord(Candidate(f"{clip}_000000000", clip, path.name, 0.0, 10.0, "local", local_path=str(path)),
                        media_path=str(path))
    (decoded,) = DecodeStage().process([record])
    return decoded


@pytest.fixture(scope="module")
def decoded(tmp_path_factory) -> list[ClipRecord]:
    """Three real decoded clips (synced, audio 0.4 s late, mismatched), the first two with a caption."""
    out = tmp_path_factory.mktemp("clips")
    records = []
    for i, variant in enumerate(("sync", "audio_late", "mismatched")):
        make_clip(out / f"{variant}.mp4", variant, seed=20 + i)
        records.append(_record(out / f"{variant}.mp4", f"clip{variant.replace('_', '')}"))
    records[0].columns["caption"] = "A white square flashes while a beep sounds."
    records[1].columns["caption"] = "A shape blinks on a dark background."
    return records


def test_embed_and_score_stages_equal_the_embedder_called_directly(decoded):
    """The stored vectors and scores of each clip, recomputed from the decoded inputs with the embedder itself."""
    embedder = build_embedder(TINY)
    stage = EmbedStage(TINY)
    stage.setup()
    records = list(ScoreStage().process(list(stage.process(decoded))))
    for record in records:
        frames = embedder.embed_frames(record.frames)
        audio = embedder.embed_audio(record.audio[None])[0]
        audio_sec = embedder.embed_audio_per_second(record.audio[None], 2.0, 1.0)[0]
        visual = frames.mean(axis=0) / np.linalg.norm(frames.mean(axis=0))  # "the mean frame embedding"
        caption = record.columns.get("caption")
        text = embedder.embed_text([caption])[0] if caption else None
        e = record.embeddings
        np.testing.assert_allclose(e["audio"], audio, atol=1e-5)
        np.testing.assert_allclose(e["visual"], visual, atol=1e-5)
        np.testing.assert_allclose(e["audio_sec"], audio_sec, atol=1e-5)
        np.testing.assert_allclose(e["visual_sec"], frames, atol=1e-5)
        assert (text is None) == ("text" not in e)
        expected = reference_scores(text, audio, visual, audio_sec, frames)
        for name, value in expected.items():
            got = record.columns[name]
            assert (got is None) if value is None else got == pytest.approx(value, abs=1e-5), name


def test_score_stage_reads_the_planted_offset(decoded):
    """The model-free offset of a clip whose beeps follow their flashes by 0.4 s (synthetic ground truth)."""
    late = next(r for r in decoded if "audiolate" in r.clip_id)
    late.embeddings = _embeddings(np.random.default_rng(0))
    row = next(iter(ScoreStage().process([late]))).columns
    assert row["av_offset_s"] == pytest.approx(0.4, abs=0.06)
    assert 0.3 < row["av_offset_confidence"] <= 1.0
    tight = next(iter(ScoreStage(max_offset_s=0.2).process([late]))).columns  # 0.4 s is out of the search range
    assert abs(tight["av_offset_s"]) <= 0.2 + 1e-9


def test_offsets_are_searched_within_one_second_by_default(decoded):
    """The synced clip with its audio delayed by 1.5 s: out of the default +-1 s range, found with +-2 s."""
    synced = next(r for r in decoded if r.clip_id.startswith("clipsync"))
    delayed = ClipRecord(synced.candidate, frames=synced.frames, motion=synced.motion, motion_fps=synced.motion_fps,
                         audio=np.concatenate([np.zeros(24_000, np.float32), synced.audio[:-24_000]]),
                         embeddings=_embeddings(np.random.default_rng(1)))
    wide = next(iter(ScoreStage(max_offset_s=2.0).process([delayed]))).columns
    assert wide["av_offset_s"] == pytest.approx(1.5, abs=0.06)
    default = next(iter(ScoreStage().process([delayed]))).columns
    assert abs(default["av_offset_s"]) <= 1.0 + 1e-9


def test_category_confidence_is_the_softmax_over_prompt_prototypes(decoded):
    embedder = build_embedder(TINY)
    embed = EmbedStage(TINY)
    embed.setup()
    records = list(embed.process([_record(Path(r.candidate.local_path), r.clip_id[:-10]) for r in decoded]))
    temperature = 0.05
    names = list(DEFAULT_PROMPTS)
    prototypes = []
    for name in names:
        mean = embedder.embed_text(list(DEFAULT_PROMPTS[name])).astype(np.float64).mean(axis=0)
        prototypes.append(mean / np.linalg.norm(mean))
    stage = CategoriseStage(TINY, DEFAULT_PROMPTS, temperature)
    stage.setup()
    for record in stage.process(records):
        query = record.embeddings["audio"].astype(np.float64) + record.embeddings["visual"]
        logits = np.array([cosine(p, query) for p in prototypes]) / temperature
        probs = np.exp(logits) / np.exp(logits).sum()
        assert record.columns["category"] == names[int(np.argmax(probs))]
        assert record.columns["category_confidence"] == pytest.approx(probs.max(), abs=1e-6)
        assert 1 / len(names) < record.columns["category_confidence"] <= 1.0
