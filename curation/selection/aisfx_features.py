"""Audio features from the aisfx sound-effects CNN (weights shipped in the PyPI package ``aisfx``,
model CC BY 4.0, code MIT; install with --no-deps: only its torch model module is used).

The network takes ~2.3 s blocks (100 frames) of a 96-band mel spectrogram at 44.1 kHz and has four
convolutional blocks; each block's output is averaged over time and frequency, and the network's own
512-d embedding (frequency mean, time max) is a fifth layer. Blocks overlap by half, as in aisfx;
a clip's features are the mean over its blocks. 16 kHz input is resampled to 44.1 kHz (the bands
above 8 kHz are then empty).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.signal import resample_poly

from curation.selection.features import AUDIO_SAMPLE_RATE, check_audio, pooled_outputs
from curation.selection.melspec import mel_power

MODEL_RATE = 44100
N_FFT, HOP, N_MELS = 2048, 1024, 96
BLOCK_FRAMES, BLOCK_HOP = 100, 50
LOG_MAX = 9.457798957824707  # aisfx's min-max normalisation bound for log10(1e4 * mel + 1)


def load_aisfx_embedding_net() -> torch.nn.Module:
    from aisfx.inference import get_path_modelWeights
    from aisfx.models import cnn2d

    # the checkpoint pickles numpy scalars next to the weights; allow exactly those, nothing else
    allowed = [(np._core.multiarray.scalar, "numpy.core.multiarray.scalar"), np.dtype, type(np.dtype(np.int64))]
    with torch.serialization.safe_globals(allowed):
        weights, _ = torch.load(get_path_modelWeights(), map_location="cpu", weights_only=True)
    net = cnn2d.EmbeddingNet("max", 3, 1, 64)
    prefix = "embedding_net."
    net.load_state_dict({k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)})
    return net.eval()


def spectrogram_blocks(audio: np.ndarray, sample_rate: int = AUDIO_SAMPLE_RATE) -> np.ndarray:
    """(blocks, 100, 96) normalised log-mel blocks of one clip, as aisfx feeds its network."""
    x = resample_poly(np.asarray(audio, dtype=np.float64), MODEL_RATE, sample_rate)
    peak = np.abs(x).max()
    x = x / peak if peak > 0 else x
    spec = np.log10(mel_power(x, MODEL_RATE, N_FFT, HOP, N_MELS) * 10000.0 + 1.0) / LOG_MAX
    if len(spec) < BLOCK_FRAMES:
        spec = np.pad(spec, ((0, BLOCK_FRAMES - len(spec)), (0, 0)))
    starts = range(0, len(spec) - BLOCK_FRAMES + 1, BLOCK_HOP)
    return np.stack([spec[s : s + BLOCK_FRAMES] for s in starts]).astype(np.float32)


class AisfxAudioFeatures:
    name = "aisfx"
    modality = "audio"
    layers = ("block1", "block2", "block3", "block4", "embedding")

    def __init__(
        self, sample_rate: int = AUDIO_SAMPLE_RATE, blocks_per_forward: int = 32, net: torch.nn.Module | None = None
    ) -> None:
        self.sample_rate = sample_rate
        self.blocks_per_forward = blocks_per_forward
        self.net = net if net is not None else load_aisfx_embedding_net()
        self._modules = {f"block{i}": getattr(self.net, f"conv_block{i}") for i in range(1, 5)}

    def extract(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        check_audio(batch)
        blocks = [spectrogram_blocks(clip, self.sample_rate) for clip in batch]
        owner = np.repeat(np.arange(len(blocks)), [len(b) for b in blocks])
        spectrograms = torch.from_numpy(np.concatenate(blocks))
        with torch.inference_mode(), pooled_outputs(self._modules, lambda x: x.mean(dim=(2, 3))) as captured:
            captured["embedding"] = []
            for start in range(0, len(spectrograms), self.blocks_per_forward):
                captured["embedding"].append(self.net(spectrograms[start : start + self.blocks_per_forward]))
        counts = np.bincount(owner)[:, None]
        out = {}
        for name in self.layers:
            sums = np.zeros((len(blocks), captured[name][0].shape[1]), dtype=np.float64)
            np.add.at(sums, owner, torch.cat(captured[name]).numpy())
            out[name] = (sums / counts).astype(np.float32)
        return out
