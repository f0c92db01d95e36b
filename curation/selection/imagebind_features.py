"""Intermediate-block features of the ImageBind vision and audio trunks.

ImageBind trunk blocks work on (tokens, batch, dim) tensors; each hooked block output is averaged
over tokens. A clip's T frames (or its 3 audio windows) go through the model as a list of inputs,
which ImageBind itself averages; the hooked features are averaged over them the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from curation.selection.features import check_audio, check_visual, pooled_outputs

TRUNKS = {"audio": "audio", "visual": "vision"}


def _evenly_spaced(n_blocks: int, count: int) -> list[int]:
    return sorted({round(float(i)) for i in np.linspace(0, n_blocks - 1, min(count, n_blocks))})


class ImageBindTrunkFeatures:
    """Mean-pooled outputs of selected trunk blocks (default: 5 blocks spread from first to last)."""

    name = "imagebind"

    def __init__(
        self,
        modality: str,
        model: torch.nn.Module | None = None,
        blocks: Sequence[int] | None = None,
        size: str = "tiny",
    ) -> None:
        if modality not in TRUNKS:
            raise ValueError(f"modality must be one of {sorted(TRUNKS)}, got {modality!r}")
        if model is None:
            from curation.embed.imagebind import build_imagebind_model

            model = build_imagebind_model(size=size)
        self.modality = modality
        self.model = model.eval()
        trunk_blocks = model.modality_trunks[TRUNKS[modality]].blocks
        self.blocks = list(blocks) if blocks is not None else _evenly_spaced(len(trunk_blocks), 5)
        self._modules = {f"block{i:02d}": trunk_blocks[i] for i in self.blocks}
        self.layers = tuple(self._modules)

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
        n, per_clip = x.shape[:2]
        with torch.inference_mode(), pooled_outputs(self._modules, lambda t: t.mean(dim=0)) as captured:
            self.model({TRUNKS[self.modality]: x})
        return {name: captured[name].reshape(n, per_clip, -1).mean(dim=1).numpy() for name in self.layers}
