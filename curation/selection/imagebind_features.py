"""Intermediate-block features of the ImageBind vision and audio trunks.

ImageBind trunk blocks work on (tokens, batch, dim) tensors; each hooked block output is averaged
over tokens. A clip's T frames (or its 3 audio windows) go through the model as separate inputs;
their hooked features are averaged per clip, as ImageBind averages its own outputs.

``trunk_layers`` is what the pipeline's embed stage uses: it hooks the blocks of the model that is
already computing the scores, so the per-layer features cost no second decode and no second forward.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from curation.selection.feature_table import feature_column
from curation.selection.features import check_audio, check_visual, pooled_outputs

TRUNKS = {"audio": "audio", "visual": "vision"}
DEFAULT_BLOCKS = 5  # per modality, as the paper's 5 blocks per extractor


def evenly_spaced(n_blocks: int, count: int) -> list[int]:
    """``count`` block indices from the first to the last (all of them when there are fewer)."""
    return sorted({round(float(i)) for i in np.linspace(0, n_blocks - 1, min(count, n_blocks))})


def trunk_blocks(model: torch.nn.Module, modality: str, count: int = DEFAULT_BLOCKS) -> dict[str, torch.nn.Module]:
    """Layer name (``block07``) -> trunk block module, ``count`` of them spread over the trunk."""
    if modality not in TRUNKS:
        raise ValueError(f"modality must be one of {sorted(TRUNKS)}, got {modality!r}")
    blocks = model.modality_trunks[TRUNKS[modality]].blocks
    return {f"block{i:02d}": blocks[i] for i in evenly_spaced(len(blocks), count)}


class ClipLayers:
    """Hooked block outputs of one ``trunk_layers`` block, turned into per-clip features on request."""

    def __init__(self, modality: str, captured: dict[str, list[torch.Tensor]]) -> None:
        self.modality, self._captured = modality, captured

    def per_clip(self, n_clips: int) -> dict[str, np.ndarray]:
        """Feature-table column -> (n_clips, D) float32: each clip's inputs (frames, windows) averaged."""
        out = {}
        for name, parts in self._captured.items():
            values = torch.cat(parts)  # (n_clips * inputs per clip, D), in input order
            out[feature_column(self.modality, "imagebind", name)] = values.reshape(n_clips, -1, values.shape[-1]).mean(
                dim=1
            ).numpy()
        return out


@contextmanager
def trunk_layers(model: torch.nn.Module, modality: str, count: int = DEFAULT_BLOCKS) -> Iterator[ClipLayers]:
    """Capture token-averaged outputs of ``count`` trunk blocks during the ImageBind calls run inside."""
    with pooled_outputs(trunk_blocks(model, modality, count), lambda t: t.mean(dim=0)) as captured:
        yield ClipLayers(modality, captured)


class ImageBindTrunkFeatures:
    """Stand-alone extractor (FeatureExtractor protocol): mean-pooled outputs of selected trunk blocks."""

    name = "imagebind"

    def __init__(
        self,
        modality: str,
        model: torch.nn.Module | None = None,
        blocks: int = DEFAULT_BLOCKS,
        size: str = "tiny",
    ) -> None:
        if model is None:
            from curation.embed.imagebind import build_imagebind_model

            model = build_imagebind_model(size=size)
        self.modality = modality
        self.model = model.eval()
        self.blocks = blocks
        self.layers = tuple(trunk_blocks(model, modality, blocks))

    def _inputs(self, batch: np.ndarray) -> torch.Tensor:
        from curation.embed.preprocess import audio_to_fbank_windows, frames_to_tensor

        if self.modality == "visual":
            check_visual(batch)
            return torch.stack([frames_to_tensor(clip) for clip in batch])  # (N, T, 3, 224, 224)
        check_audio(batch)
        return torch.from_numpy(
            np.stack([audio_to_fbank_windows(clip) for clip in batch])
        ).float()  # (N, 3, 1, 128, 204)

    def extract(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        x = self._inputs(batch)
        with torch.inference_mode(), trunk_layers(self.model, self.modality, self.blocks) as layers:
            self.model({TRUNKS[self.modality]: x})
        prefix = f"{self.modality}_{self.name}_"
        return {name.removeprefix(prefix): v for name, v in layers.per_clip(len(batch)).items()}
