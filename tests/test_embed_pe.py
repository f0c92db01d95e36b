"""The PE audio-video backend on the genuine PeAudioVideoModel class (tiny, random), offline, and in the stages."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("transformers.models.pe_audio_video")

from curation.embed import Embedder, EmbedderConfig, build_embedder
from curation.embed.pe_audio_video import PeAudioVideoEmbedder, resample
from curation.media.decode import decode_clip
from curation.media.synthetic import make_clip
from curation.record import ClipRecord
from curation.sources import Candidate
from curation.stages.embed import EmbedStage
from curation.stages.score import ScoreStage

torch.set_num_threads(1)
VARIANT = "facebook/pe-av-large"
CONFIG = EmbedderConfig(backend="pe_audio_video", variant=VARIANT, device="cpu", random_weights=True)
TEXTS = ["a dog barks at a passing car", "rain on a tin roof", "a man plays an acoustic guitar", ""]


def _unit(x: np.ndarray) -> None:
    assert x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=-1), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def pe() -> Embedder:
    return build_embedder(CONFIG)


@pytest.fixture(scope="module")
def clips() -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(160_000) / 16_000
    return np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.1 * rng.standard_normal(160_000)]).astype(np.float32)


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (5, 224, 224, 3), dtype=np.uint8)


def test_builds_the_genuine_class_and_satisfies_the_protocol(pe):
    from transformers import PeAudioVideoModel

    assert isinstance(pe, PeAudioVideoEmbedder) and isinstance(pe, Embedder)
    assert type(pe.model) is PeAudioVideoModel
    assert pe.random_weights and pe.name == "pe_audio_video_tiny-random"


def test_random_weights_are_seeded():
    a, b = (PeAudioVideoEmbedder(VARIANT, random_weights=True, device="cpu") for _ in range(2))
    np.testing.assert_array_equal(a.embed_text(TEXTS), b.embed_text(TEXTS))


def test_shapes_and_unit_norm(pe, clips, frames):
    text, audio = pe.embed_text(TEXTS), pe.embed_audio(clips)
    per_second, visual = pe.embed_audio_per_second(clips), pe.embed_frames(frames)
    assert text.shape == (4, pe.dim) and audio.shape == (2, pe.dim)
    assert per_second.shape == (2, 10, pe.dim) and visual.shape == (5, pe.dim)
    for x in (text, audio, per_second, visual):
        _unit(x)
    assert not np.array_equal(audio[0], audio[1]) and not np.array_equal(per_second[1, 0], per_second[1, 5])


def test_per_second_windows_are_the_centred_2s_windows(pe, clips):
    per_second = pe.embed_audio_per_second(clips[:1])
    starts = [0, 0] + [(t - 1) * 16_000 + 8_000 for t in range(2, 9)] + [128_000]  # clamped at both ends
    windows = np.stack([clips[0, s : s + 32_000] for s in starts])
    np.testing.assert_allclose(per_second[0], pe.embed_audio(windows), atol=1e-5)


def test_batching_does_not_change_results(pe, clips, frames):
    small = PeAudioVideoEmbedder(VARIANT, random_weights=True, device="cpu", batch_size=1)
    np.testing.assert_allclose(small.embed_text(TEXTS), pe.embed_text(TEXTS), atol=1e-5)
    np.testing.assert_allclose(small.embed_audio(clips), pe.embed_audio(clips), atol=1e-5)
    np.testing.assert_allclose(small.embed_frames(frames), pe.embed_frames(frames), atol=1e-5)
    np.testing.assert_allclose(small.embed_audio_per_second(clips), pe.embed_audio_per_second(clips), atol=1e-5)


def test_empty_inputs_and_bad_shapes(pe):
    assert pe.embed_text([]).shape == (0, pe.dim)
    with pytest.raises(ValueError, match="audio must be"):
        pe.embed_audio(np.zeros(160_000, np.float32))
    with pytest.raises(ValueError, match="frames must be"):
        pe.embed_frames(np.zeros((1, 224, 224, 3), np.float32))


def test_resample_keeps_a_tone():
    t = np.arange(16_000) / 16_000
    up = resample(np.sin(2 * np.pi * 440 * t).astype(np.float32), 16_000, 48_000)
    assert up.shape == (48_000,)
    np.testing.assert_allclose(up, np.sin(2 * np.pi * 440 * np.arange(48_000) / 48_000), atol=1e-4)


def test_missing_checkpoint_names_where_it_looked(tmp_path):
    absent = EmbedderConfig(backend="pe_audio_video", variant="facebook/pe-av-not-cached", device="cpu")
    with pytest.raises(FileNotFoundError, match=r"pe-av-not-cached.*local Hugging Face cache \(.+\)"):
        build_embedder(absent)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nowhere")):
        build_embedder(EmbedderConfig(backend="pe_audio_video", checkpoint=str(tmp_path / "nowhere")))
    with pytest.raises(ValueError, match="contradicts"):
        PeAudioVideoEmbedder(VARIANT, str(tmp_path), random_weights=True)


def test_embed_and_score_stages_run_with_it(tmp_path):
    records = []
    for i, variant in enumerate(("sync", "audio_late")):
        spec = make_clip(tmp_path / f"{variant}.mp4", variant, seed=i, width=96, height=64)
        clip = decode_clip(spec.path, 0.0, 10.0)
        candidate = Candidate(f"clip{i}_000000000", f"clip{i}", Path(spec.path).as_uri(), 0.0, 10.0, "local")
        record = ClipRecord(candidate)
        record.frames, record.audio, record.motion, record.motion_fps = clip.frames, clip.audio, clip.motion, 25.0
        records.append(record)
    records[0].columns["caption"] = "a beeping tone"
    embed = EmbedStage(CONFIG)
    embed.setup()
    out = list(ScoreStage().process(list(embed.process(records))))
    assert len(out) == 2 and embed.describe()["embedder"] == "pe_audio_video_tiny-random (random weights)"
    assert out[0].embeddings["audio_sec"].shape == (10, out[0].embeddings["audio"].shape[0])
    for record in out:
        for column in ("sim_av_instance", "sim_av_temporal", "temporal_contrast"):
            assert -1.0 - 1e-6 <= record.columns[column] <= 1.0 + 1e-6
        assert np.isfinite(record.columns["av_offset_s"])
    assert out[0].columns["sim_text_audio"] is not None and out[1].columns["sim_text_audio"] is None
