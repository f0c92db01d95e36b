"""The embedder interface the pipeline stages program against, so a backend can be swapped by configuration.

A backend (ImageBind today; e.g. transformers' ``pe_audio_video`` later) implements :class:`Embedder` and is
registered in :func:`curation.embed.build_embedder`; no stage needs to change. Every method returns float32,
L2-normalised rows, so a cosine similarity is a plain dot product whichever backend produced them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch

SAMPLE_RATE = 16_000
CLIP_SECONDS = 10
CLIP_SAMPLES = SAMPLE_RATE * CLIP_SECONDS


@dataclass(frozen=True)
class EmbedderConfig:
    """How to build an embedder; ``variant`` and ``checkpoint`` mean whatever the backend says they mean.

    ImageBind: ``variant`` is ``"huge"`` (published weights) or ``"tiny"`` (random, for tests);
    ``random_weights=True`` builds ``huge`` without its weights (benchmarks only: scores are meaningless).
    ``batch_size`` counts encoder inputs per forward pass (texts, frames or audio windows).
    """

    backend: str = "imagebind"
    variant: str = "huge"
    checkpoint: str | None = None
    device: str | None = None
    batch_size: int = 32
    bf16: bool = False
    random_weights: bool = False

    def identity(self) -> dict:
        """The settings plus which weights file they resolve to (path, size, mtime): part of task fingerprints.

        Resolving finds the file without loading it, so a missing checkpoint fails here, before any model is
        built; the device is resolved too (CPU and GPU results differ in the last bits).
        """
        from curation.embed import weights_identity

        return {**self.__dict__, "device": select_device(self.device).type, "weights": weights_identity(self)}


@runtime_checkable
class Embedder(Protocol):
    """Maps text, audio and frames into one space; outputs are float32 unit vectors.

    ``random_weights`` is True when the model was not loaded from trained weights: its scores must never be
    published as curation results.
    """

    name: str
    dim: int
    random_weights: bool

    def embed_text(self, texts: list[str]) -> np.ndarray:
        """(N,) captions -> (N, D)."""
        ...

    def embed_audio(self, audio: np.ndarray) -> np.ndarray:
        """(N, samples) float32 16 kHz clips of any one length -> (N, D) whole-clip instance embeddings."""
        ...

    def embed_audio_per_second(
        self, audio: np.ndarray, window_s: float = 2.0, hop_s: float = 1.0
    ) -> np.ndarray:
        """(N, samples) -> (N, T, D), T = the clip's seconds (10 for 10 s): window ``t`` is centred on t + 0.5 s,
        clamped to the clip."""
        ...

    def embed_frames(self, frames: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB frames (224x224 expected) -> (N, D)."""
        ...


def select_device(device: str | torch.device | None) -> torch.device:
    """CUDA when present unless told otherwise: the huge model is ~30x faster there."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_gpus(device: str | None) -> float:
    """GPUs a model process on this device takes: one when it resolves to CUDA (`cuda`, or unset/`auto` on
    a machine with a GPU), else none. Stages declare it in their Resources; executors place workers by it."""
    return 1.0 if select_device(None if device == "auto" else device).type == "cuda" else 0.0


def l2_normalize(x: torch.Tensor) -> np.ndarray:
    """Unit rows as float32 numpy; models such as ImageBind scale their outputs (text x14.3, audio x20)."""
    return torch.nn.functional.normalize(x.float(), dim=-1).cpu().numpy()


def check_audio(audio: np.ndarray) -> np.ndarray:
    """(N, samples) float32 or a clear error: a 1-D clip silently broadcast would give nonsense."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2:
        raise ValueError(f"audio must be (N, samples) at {SAMPLE_RATE} Hz, got shape {audio.shape}")
    return audio


def check_frames(frames: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 or a clear error: float frames in [0, 1] would be silently mis-normalised."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (N, H, W, 3), got {frames.dtype} {frames.shape}")
    return frames
