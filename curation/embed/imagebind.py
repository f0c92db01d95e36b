"""ImageBind backend: the genuine model code of the installed ``imagebind-unofficial`` package, run offline.

Licence: ImageBind's code and weights are CC BY-NC-SA 4.0 (the package's MIT classifier is wrong). This module
imports that code at run time and copies none of it; scores made with it inherit the non-commercial terms.

Why the import is unusual: ``imagebind/__init__.py`` imports ``data.py``, which needs torchaudio, torchvision and
pytorchvideo; their PyPI builds are CUDA builds that fail to load beside the CPU torch used here. The model
modules (``imagebind.models.*``) need only torch, einops, numpy, ftfy, regex, iopath and two names from
``timm.layers``, and timm itself imports torchvision. So :func:`import_imagebind_module` registers a bare
``imagebind`` package (right ``__path__``, no ``__init__`` run) and, only while importing and only if timm cannot
be imported, provides those two timm names from torch. Preprocessing is re-done in :mod:`.preprocess`.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import importlib.util
import os
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from curation.embed.base import check_audio, check_frames, l2_normalize, select_device
from curation.embed.preprocess import (
    NUM_MEL_BINS,
    TARGET_FRAMES,
    audio_to_fbank_per_second,
    audio_to_fbank_windows,
    bpe_vocab_path,
    frames_to_tensor,
    per_second_starts,
)
from curation.embed.weights import load_weights, resolve_checkpoint

CONTEXT_LENGTH = 77
SIZES = ("huge", "tiny")
PUBLISHED = frozenset({"huge"})  # sizes with trained weights somewhere; tiny exists only for tests
# The genuine ImageBindModel at ~3.7 M parameters (3.2 M of them the 49408-token text embedding).
TINY_CONFIG: dict[str, int] = dict(
    out_embed_dim=64,
    vision_embed_dim=64, vision_num_blocks=2, vision_num_heads=2,
    audio_embed_dim=64, audio_num_blocks=2, audio_num_heads=2,
    text_embed_dim=64, text_num_blocks=2, text_num_heads=2,
    depth_embed_dim=32, depth_num_blocks=1, depth_num_heads=1,
    thermal_embed_dim=32, thermal_num_blocks=1, thermal_num_heads=1,
    imu_embed_dim=32, imu_num_blocks=1, imu_num_heads=1,
)  # fmt: skip


class _DropPath(nn.Module):
    """Per-sample stochastic depth with timm's semantics; identity in eval mode, which is all embedding uses."""

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


@contextlib.contextmanager
def _timm_layers() -> Iterator[None]:
    """Make ``from timm.layers import DropPath, trunc_normal_`` work for the duration of the import.

    The real timm is used when it imports; otherwise an in-memory stand-in is put in sys.modules and removed
    afterwards, so nothing else in the process mistakes it for timm.
    """
    try:
        importlib.import_module("timm.layers")
    except Exception:  # not installed, or installed but its torchvision import fails
        pass
    else:
        yield
        return
    timm = types.ModuleType("timm", "acav1m stand-in for timm while importing ImageBind")
    layers = types.ModuleType("timm.layers")
    layers.trunc_normal_ = nn.init.trunc_normal_  # type: ignore[attr-defined]
    layers.DropPath = _DropPath  # type: ignore[attr-defined]
    timm.layers = layers  # type: ignore[attr-defined]
    saved = {name: sys.modules.pop(name, None) for name in ("timm", "timm.layers")}
    sys.modules.update({"timm": timm, "timm.layers": layers})
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def import_imagebind_module(name: str = "imagebind_model") -> types.ModuleType:
    """``imagebind.models.<name>`` from the installed package, without running ``imagebind/__init__.py``.

    The bare ``imagebind`` package stays registered so the imported classes keep importable module paths; a
    later ``import imagebind`` therefore gets it too (without ``imagebind.data``).
    """
    if "imagebind" not in sys.modules:
        spec = importlib.util.find_spec("imagebind")
        if spec is None or not spec.submodule_search_locations:
            raise ModuleNotFoundError(
                "imagebind-unofficial is not installed (pip install --no-deps imagebind-unofficial)"
            )
        package = types.ModuleType("imagebind", "bare package registered by acav1m: models only, no data.py")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = importlib.machinery.ModuleSpec("imagebind", None, is_package=True)
        package.__spec__.submodule_search_locations = package.__path__
        sys.modules["imagebind"] = package
    with _timm_layers():
        importlib.import_module("imagebind.models.imagebind_model")
    return importlib.import_module(f"imagebind.models.{name}")


def _check_size(size: str) -> None:
    if size not in SIZES:
        raise ValueError(f"unknown ImageBind size {size!r}; expected one of {SIZES}")


def weights_source(
    size: str, checkpoint: str | os.PathLike[str] | None = None, random_weights: bool = False
) -> Path | None:
    """The weights file to load, or None for random weights (tiny by default, huge only on request)."""
    _check_size(size)
    if random_weights:
        if checkpoint is not None:
            raise ValueError("random_weights=True contradicts an explicit checkpoint")
        return None
    if checkpoint is not None or size in PUBLISHED:
        return resolve_checkpoint(checkpoint)
    return None


def build_imagebind_model(
    size: str = "tiny",
    checkpoint: str | os.PathLike[str] | None = None,
    *,
    random_weights: bool = False,
    seed: int = 0,
) -> nn.Module:
    """The genuine ``ImageBindModel`` in eval mode.

    ``huge`` is built by the package's ``imagebind_huge(pretrained=False)`` (which would otherwise download)
    and its weights come from :func:`weights_source`: FileNotFoundError, raised before the ~20 s build, when
    none is found. ``tiny`` is the same class with :data:`TINY_CONFIG`, random unless a checkpoint is given.
    Random initialisation is seeded without touching the global RNG.
    """
    source = weights_source(size, checkpoint, random_weights)
    ib = import_imagebind_module()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ib.imagebind_huge(pretrained=False) if size == "huge" else ib.ImageBindModel(**TINY_CONFIG)
    if source is not None:
        load_weights(model, source)
    return model.eval().requires_grad_(False)


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    """ImageBind's own SimpleTokenizer (CLIP BPE, 77 tokens); loading the vocab takes ~0.2 s, so once."""
    return import_imagebind_module("multimodal_preprocessors").SimpleTokenizer(bpe_path=str(bpe_vocab_path()))


def tokenize(texts: Sequence[str]) -> torch.Tensor:
    """(N, 77) int64 token ids: <start>, BPE, <end>, zero padding (truncated to 77 like ImageBind)."""
    return _tokenizer()(list(texts)).reshape(-1, CONTEXT_LENGTH)


class ImageBindEmbedder:
    """:class:`~curation.embed.base.Embedder` over ImageBind; ``random_weights`` says whether scores mean anything.

    ``batch_size`` counts encoder inputs per forward pass: texts, frames, or audio windows (3 per clip for
    whole-clip audio, T per clip per second). ``bf16`` runs under bfloat16 autocast (~3x faster vision on CPU).
    """

    def __init__(
        self,
        size: str = "huge",
        checkpoint: str | os.PathLike[str] | None = None,
        device: str | torch.device | None = None,
        batch_size: int = 32,
        bf16: bool = False,
        *,
        random_weights: bool = False,
        seed: int = 0,
    ) -> None:
        self.checkpoint = weights_source(size, checkpoint, random_weights)
        self.random_weights = self.checkpoint is None
        self.device = select_device(device)
        self.model = build_imagebind_model(size, self.checkpoint, random_weights=self.random_weights, seed=seed)
        self.model.to(self.device)
        self.size = size
        self.name = f"imagebind_{size}"
        self.dim: int = self.model.modality_heads["vision"][-1].out_features
        self.batch_size = batch_size
        self.bf16 = bf16

    @torch.inference_mode()
    def _encode(
        self, modality: str, items: Sequence[Any], per_batch: int, prepare: Callable[[Any], torch.Tensor]
    ) -> np.ndarray:
        """Prepare and run ``items`` chunk by chunk (bounded memory); (len(items) * k, D) unit rows."""
        step = max(per_batch, 1)
        outputs = []
        for start in range(0, len(items), step):
            x = prepare(items[start : start + step]).to(self.device)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                outputs.append(self.model({modality: x})[modality].float())
        if not outputs:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalize(torch.cat(outputs))

    def embed_text(self, texts: list[str]) -> np.ndarray:
        return self._encode("text", list(texts), self.batch_size, tokenize)

    def embed_audio(self, audio: np.ndarray) -> np.ndarray:
        """Inputs are (B, 3, 1, 128, 204): the model itself averages its 3 normalised-and-scaled window outputs."""
        audio = check_audio(audio)
        return self._encode(
            "audio",
            audio,
            self.batch_size // 3,
            lambda clips: torch.from_numpy(np.stack([audio_to_fbank_windows(c) for c in clips])),
        )

    def embed_audio_per_second(
        self, audio: np.ndarray, window_s: float = 2.0, hop_s: float = 1.0
    ) -> np.ndarray:
        """Windows go in as (B*T, 1, 128, 204), so the model does not average them; reshaped to (N, T, D)."""
        audio = check_audio(audio)
        steps = len(per_second_starts(audio.shape[1], window_s=window_s, hop_s=hop_s))

        def prepare(clips: np.ndarray) -> torch.Tensor:
            windows = [audio_to_fbank_per_second(c, window_s=window_s, hop_s=hop_s) for c in clips]
            return torch.from_numpy(np.concatenate(windows)).reshape(-1, 1, NUM_MEL_BINS, TARGET_FRAMES)

        flat = self._encode("audio", audio, self.batch_size // steps, prepare)
        return flat.reshape(len(audio), steps, self.dim)

    def embed_frames(self, frames: np.ndarray) -> np.ndarray:
        return self._encode("vision", check_frames(frames), self.batch_size, frames_to_tensor)
