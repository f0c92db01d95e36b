"""The ImageBind embedder on the genuine ImageBindModel class at tiny size, and offline weight resolution."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from curation.embed import Embedder, EmbedderConfig, build_embedder
from curation.embed.imagebind import (
    ImageBindEmbedder,
    _DropPath,
    import_imagebind_module,
    tokenize,
    weights_source,
)
from curation.embed.preprocess import audio_to_fbank_windows
from curation.embed.weights import CHECKPOINT_ENV, HF_REPO_ENV, WeightsLocation, resolve_checkpoint

torch.set_num_threads(1)
REPO_ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["a dog barks at a passing car", "rain on a tin roof", "a man plays an acoustic guitar", ""]


@pytest.fixture(scope="module")
def tiny() -> ImageBindEmbedder:
    return ImageBindEmbedder("tiny", device="cpu", batch_size=64)


@pytest.fixture(scope="module")
def clips() -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(160_000) / 16_000
    tones = np.sin(2 * np.pi * np.array([[220.0], [440.0], [880.0], [1760.0]]) * t)
    return (0.3 * tones + 0.05 * rng.standard_normal((4, 160_000))).astype(np.float32)


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (4, 224, 224, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def reference(tiny: ImageBindEmbedder, clips: np.ndarray, frames: np.ndarray) -> dict[str, np.ndarray]:
    return _all(tiny, clips, frames)


def _all(embedder: ImageBindEmbedder, clips: np.ndarray, frames: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "text": embedder.embed_text(TEXTS),
        "audio": embedder.embed_audio(clips),
        "audio_per_second": embedder.embed_audio_per_second(clips),
        "frames": embedder.embed_frames(frames),
    }


def test_tiny_is_the_genuine_class_and_labelled_random(tiny: ImageBindEmbedder) -> None:
    assert type(tiny.model) is import_imagebind_module().ImageBindModel
    assert isinstance(tiny, Embedder)
    assert tiny.random_weights and tiny.checkpoint is None
    assert (tiny.name, tiny.dim, tiny.device.type) == ("imagebind_tiny", 64, "cpu")
    assert 3_000_000 < sum(p.numel() for p in tiny.model.parameters()) < 4_500_000


def test_shapes_dtype_unit_norm(reference: dict[str, np.ndarray]) -> None:
    shapes = {k: v.shape for k, v in reference.items()}
    assert shapes == {"text": (4, 64), "audio": (4, 64), "audio_per_second": (4, 10, 64), "frames": (4, 64)}
    for value in reference.values():
        assert value.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(value, axis=-1), 1.0, atol=1e-5)


def test_batch_of_four_equals_four_singles(
    tiny: ImageBindEmbedder, clips: np.ndarray, frames: np.ndarray, reference: dict[str, np.ndarray]
) -> None:
    batched = reference
    singles = [_all(tiny, clips[i : i + 1], frames[i : i + 1]) for i in range(4)]
    singles_text = np.concatenate([tiny.embed_text([t]) for t in TEXTS])
    np.testing.assert_allclose(batched["text"], singles_text, atol=1e-5)
    for key in ("audio", "audio_per_second", "frames"):
        np.testing.assert_allclose(batched[key], np.concatenate([s[key] for s in singles]), atol=1e-5)


def test_internal_batch_size_does_not_change_results(
    clips: np.ndarray, frames: np.ndarray, reference: dict[str, np.ndarray]
) -> None:
    one = ImageBindEmbedder("tiny", device="cpu", batch_size=1)
    for key, value in _all(one, clips[:2], frames[:2]).items():
        np.testing.assert_allclose(value, reference[key][: len(value)], atol=1e-5)


def test_seeded_and_leaves_global_rng_alone(tiny: ImageBindEmbedder, frames: np.ndarray) -> None:
    state = torch.get_rng_state()
    again = ImageBindEmbedder("tiny", device="cpu", batch_size=64, seed=0)
    other = ImageBindEmbedder("tiny", device="cpu", batch_size=64, seed=1)
    assert torch.equal(state, torch.get_rng_state())
    np.testing.assert_array_equal(again.embed_frames(frames), tiny.embed_frames(frames))
    np.testing.assert_array_equal(again.embed_text(TEXTS), tiny.embed_text(TEXTS))
    assert np.abs(other.embed_frames(frames) - tiny.embed_frames(frames)).max() > 1e-2


def test_whole_clip_audio_is_imagebinds_mean_over_three_windows(tiny: ImageBindEmbedder, clips: np.ndarray) -> None:
    windows = torch.from_numpy(np.concatenate([audio_to_fbank_windows(c) for c in clips[:2]]))  # (6, 1, 128, 204)
    with torch.inference_mode():
        per_window = tiny.model({"audio": windows})["audio"]  # 4-D input: the model does not reduce
    expected = torch.nn.functional.normalize(per_window.reshape(2, 3, -1).mean(dim=1), dim=-1)
    np.testing.assert_allclose(tiny.embed_audio(clips[:2]), expected.numpy(), atol=1e-5)


def test_per_second_window_is_centred_on_its_second(tiny: ImageBindEmbedder, clips: np.ndarray) -> None:
    per_second = tiny.embed_audio_per_second(clips[:1])
    for t, start in [(0, 0), (5, 72_000), (9, 128_000)]:  # 2 s windows centred on t + 0.5 s, clamped
        window = torch.from_numpy(audio_to_fbank_windows(clips[0, start : start + 32_000], num_windows=1))
        with torch.inference_mode():
            expected = torch.nn.functional.normalize(tiny.model({"audio": window})["audio"], dim=-1)
        np.testing.assert_allclose(per_second[0, t], expected[0].numpy(), atol=1e-5)


def test_bf16_autocast_stays_close(clips: np.ndarray, frames: np.ndarray, reference: dict[str, np.ndarray]) -> None:
    bf16 = ImageBindEmbedder("tiny", device="cpu", batch_size=64, bf16=True)
    outputs = {"text": bf16.embed_text(TEXTS), "audio": bf16.embed_audio(clips), "frames": bf16.embed_frames(frames)}
    for key, value in outputs.items():
        assert (value * reference[key]).sum(axis=-1).min() > 0.98


def test_empty_and_invalid_inputs(tiny: ImageBindEmbedder) -> None:
    assert tiny.embed_text([]).shape == (0, 64)
    assert tiny.embed_audio(np.zeros((0, 160_000), np.float32)).shape == (0, 64)
    assert tiny.embed_audio_per_second(np.zeros((0, 160_000), np.float32)).shape == (0, 10, 64)
    with pytest.raises(ValueError, match="audio must be"):
        tiny.embed_audio(np.zeros(160_000, np.float32))
    with pytest.raises(ValueError, match="frames must be uint8"):
        tiny.embed_frames(np.zeros((1, 224, 224, 3), np.float32))


def test_tokenizer_is_imagebinds() -> None:
    tokens = tokenize(["a dog", "word " * 200])
    assert tokens.shape == (2, 77) and tokens.dtype == torch.int64
    assert tokens[0, :5].tolist() == [49406, 320, 1929, 49407, 0]
    assert tokens[1, 0] == 49406 and tokens[1, -1] == 49407  # truncated, end token kept


def test_build_embedder_from_config() -> None:
    embedder = build_embedder(EmbedderConfig(variant="tiny", device="cpu", batch_size=8))
    assert isinstance(embedder, ImageBindEmbedder) and embedder.random_weights and embedder.batch_size == 8
    with pytest.raises(ValueError, match="unknown embedding backend"):
        build_embedder(EmbedderConfig(backend="nope"))


def test_drop_path_stand_in_semantics() -> None:
    x = torch.ones(1000, 4)
    layer = _DropPath(0.5)
    assert torch.equal(layer.eval()(x), x)
    kept = layer.train()(x)[:, 0]
    assert set(kept.unique().tolist()) == {0.0, 2.0} and 0.4 < (kept > 0).float().mean() < 0.6


# --- weights -------------------------------------------------------------------------------------------


def _fake_hf_cache(root: Path, repo_id: str, filename: str) -> Path:
    """The layout huggingface_hub writes: refs/main -> commit, snapshots/<commit>/<file>."""
    repo = root / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    path = repo / "snapshots" / "0123abcd" / filename
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x")
    return path


@pytest.fixture()
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    monkeypatch.delenv(HF_REPO_ENV, raising=False)
    return tmp_path


def test_resolution_order(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    location = WeightsLocation(hf_repo_id="acme/imagebind", hf_cache_dir=str(isolated / "hub"))
    cached = _fake_hf_cache(isolated / "hub", "acme/imagebind", "imagebind_huge.pth")
    assert resolve_checkpoint(location=location) == cached
    local = isolated / ".checkpoints" / "imagebind_huge.pth"
    local.parent.mkdir()
    local.write_bytes(b"x")
    assert resolve_checkpoint(location=location) == local
    from_env = isolated / "env.pth"
    from_env.write_bytes(b"x")
    monkeypatch.setenv(CHECKPOINT_ENV, str(from_env))
    assert resolve_checkpoint(location=location) == from_env
    explicit = isolated / "explicit.pth"
    explicit.write_bytes(b"x")
    assert resolve_checkpoint(explicit, location) == explicit


def test_missing_weights_error_lists_every_place(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CHECKPOINT_ENV, str(isolated / "gone.pth"))
    location = WeightsLocation(hf_repo_id="acme/imagebind", hf_cache_dir=str(isolated / "hub"))
    with pytest.raises(FileNotFoundError) as error:
        resolve_checkpoint(location=location)
    message = str(error.value)
    for expected in (CHECKPOINT_ENV, str(isolated / "gone.pth"), str(isolated / ".checkpoints" / "imagebind_huge.pth"),
                     "acme/imagebind/imagebind_huge.pth", "Nothing is downloaded"):  # fmt: skip
        assert expected in message
    with pytest.raises(FileNotFoundError, match="explicitly"):
        resolve_checkpoint(isolated / "typo.pth", location)


def test_huge_without_weights_fails_fast_and_never_random(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def never_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("the ~20 s huge build must not start before the weights are found")

    monkeypatch.setattr("curation.embed.imagebind.import_imagebind_module", never_build)
    with pytest.raises(FileNotFoundError, match="HF_REPO"):  # default: no Hub repo configured, says how
        ImageBindEmbedder("huge", device="cpu")
    with pytest.raises(FileNotFoundError):
        build_embedder(EmbedderConfig(device="cpu"))
    with pytest.raises(ValueError, match="contradicts"):
        weights_source("huge", "x.pth", random_weights=True)
    with pytest.raises(ValueError, match="unknown ImageBind size"):
        weights_source("giant")


def test_tiny_state_dict_round_trips_through_the_loader(
    isolated: Path, tiny: ImageBindEmbedder, clips: np.ndarray, frames: np.ndarray, reference: dict[str, np.ndarray]
) -> None:
    path = isolated / "tiny.pth"
    torch.save(tiny.model.state_dict(), path)
    loaded = ImageBindEmbedder("tiny", checkpoint=path, device="cpu", batch_size=64, seed=7)
    assert not loaded.random_weights and loaded.checkpoint == path
    for key, value in _all(loaded, clips, frames).items():
        np.testing.assert_allclose(value, reference[key], atol=1e-6)


def test_bare_import_loads_no_torchaudio_torchvision_or_timm() -> None:
    code = """
import importlib.util, sys
from curation.embed.imagebind import ImageBindEmbedder
import numpy as np
e = ImageBindEmbedder("tiny", device="cpu")
e.embed_audio(np.zeros((1, 160000), np.float32)); e.embed_text(["x"])
banned = ["torchaudio", "torchvision", "pytorchvideo", "imagebind.data"]
if importlib.util.find_spec("timm") is None:
    banned += ["timm", "timm.layers"]  # the stand-in must not outlive the import
loaded = [name for name in banned if name in sys.modules]
assert not loaded, loaded
"""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
