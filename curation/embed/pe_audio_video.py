"""Perception Encoder audio-video backend: transformers' genuine ``PeAudioVideoModel``, loaded offline only.

``variant`` is a Hub id (``facebook/pe-av-large``) looked up in the local HF cache only; ``checkpoint`` is a local
directory saved by ``save_pretrained``. Nothing is downloaded and no remote code runs.

Heads used, as ``PeAudioVideoModel.forward`` pairs them: audio -> ``audio_model.audio_head`` on the audio
encoder's pooled output; frames -> ``video_model.video_head`` on the video encoder's pooled output (each frame a
1-frame video); audio and frames are compared in that shared space (the model's ``logits_audio_video``). Text has
one head per partner (``text_audio``, ``text_video``, ``text_audio_video``) but the :class:`Embedder` protocol
gives one text vector, so ``text_head`` picks one (default ``"video"``): the other text score is then a
cross-head cosine. The model's own ``get_text_*_embeds``/``get_video_embeds`` wrappers call methods that do not
exist in transformers 5.23, so the same computations are done here from the modules ``forward`` uses.

Preprocessing without torchvision/torchaudio: audio is resampled 16 kHz -> the feature extractor's rate
(48 kHz) by band-limited FFT resampling (numpy), then goes through the genuine ``PeAudioFeatureExtractor`` (pure
numpy). ``PeVideoVideoProcessor`` needs torchvision, so frames are prepared as it documents: PIL bilinear resize
(+ centre crop when configured), rescale by 1/255, normalise with the checkpoint's mean/std (read from its
``video_preprocessor_config.json``; PE's 0.5/0.5 otherwise).

The real vision tower is timm's ``vit_pe_core_*`` (a ``TimmWrapper``); timm needs torchvision, which breaks the
CPU torch here, so real checkpoints need timm installed. ``random_weights=True`` builds the genuine
``PeAudioVideoModel`` from :func:`tiny_config`, whose vision tower is a tiny transformers ViT instead (same
interface: per-frame logits), and a byte-level stand-in tokenizer: for tests only, scores are meaningless.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from curation.embed.base import SAMPLE_RATE, check_audio, check_frames, l2_normalize, select_device
from curation.embed.preprocess import per_second_starts

DEFAULT_VARIANT = "facebook/pe-av-large"
TEXT_HEADS = ("audio", "video", "audio_video")
MAX_TEXT_TOKENS = 77
PE_MEAN = PE_STD = (0.5, 0.5, 0.5)
TINY_IMAGE_SIZE = 32


def tiny_config() -> Any:
    """A ``PeAudioVideoConfig`` of ~0.25 M parameters (vision tower: tiny ViT, see the module docstring)."""
    from transformers import PeAudioVideoConfig, ViTConfig

    enc = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2, "head_dim": 16}
    vision = ViTConfig(
        image_size=TINY_IMAGE_SIZE, patch_size=16, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, num_labels=16,
    )  # fmt: skip
    text = {
        "vocab_size": _ByteTokenizer.vocab_size, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
        "num_attention_heads": 2, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2, "cls_token_id": 1, "sep_token_id": 2,
    }  # fmt: skip
    dac = {"downsampling_ratios": [2, 8, 10, 12], "encoder_hidden_size": 4, "codebook_dim": 8}  # hop 1920, as published
    return PeAudioVideoConfig(
        text_config=text,
        audio_video_config=dict(
            **enc, audio_config=dict(**enc, dac_config=dac), video_config=dict(**enc, vision_config=vision)
        ),
    )


class _ByteTokenizer:
    """Stand-in for random-weight tests only: [CLS]=1, UTF-8 bytes + 3, [SEP]=2, padding 0."""

    vocab_size = 259

    def __call__(self, texts: list[str], **_: Any) -> dict[str, torch.Tensor]:
        rows = [[1, *(b + 3 for b in t.encode("utf-8")[: MAX_TEXT_TOKENS - 2]), 2] for t in texts]
        width = max(len(r) for r in rows)
        ids = torch.tensor([r + [0] * (width - len(r)) for r in rows])
        return {"input_ids": ids, "attention_mask": (ids != 0).long()}


def resolve_pe_checkpoint(variant: str, checkpoint: str | os.PathLike[str] | None = None) -> Path:
    """The local model directory: ``checkpoint`` if given, else ``variant`` in the local HF cache (never fetched)."""
    if checkpoint is not None:
        path = Path(checkpoint).expanduser()
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"no PE audio-video checkpoint at {path} (expected config.json and weights there)")
        return path
    from huggingface_hub import constants, snapshot_download

    try:
        return Path(snapshot_download(variant, local_files_only=True))
    except Exception as error:  # LocalEntryNotFoundError, or a malformed id
        raise FileNotFoundError(
            f"PE audio-video model {variant!r} is not in the local Hugging Face cache ({constants.HF_HUB_CACHE}); "
            "download it there first or pass checkpoint=<local directory>"
        ) from error


def _video_preprocessing(path: Path | None, vision_config: Any) -> dict[str, Any]:
    """Resize/crop/normalise settings from the checkpoint's video processor config, else PE's defaults."""
    settings: dict[str, Any] = {}
    for name in ("video_preprocessor_config.json", "preprocessor_config.json"):
        if path is not None and (path / name).is_file():
            settings = json.loads((path / name).read_text())
            if "image_mean" in settings or "size" in settings:
                break
    size = settings.get("size") or {}
    default = getattr(vision_config, "image_size", None) or TINY_IMAGE_SIZE
    pretrained = getattr(vision_config, "pretrained_cfg", None) or {}
    if "input_size" in pretrained:
        default = int(pretrained["input_size"][-1])
    crop = settings.get("crop_size") if settings.get("do_center_crop") else None
    return {
        "height": int(size.get("height", size.get("shortest_edge", default))),
        "width": int(size.get("width", size.get("shortest_edge", default))),
        "shortest_edge": "shortest_edge" in size,
        "crop": (int(crop["height"]), int(crop["width"])) if crop else None,
        "rescale": float(settings.get("rescale_factor", 1 / 255)),
        "mean": np.asarray(settings.get("image_mean", PE_MEAN), dtype=np.float32),
        "std": np.asarray(settings.get("image_std", PE_STD), dtype=np.float32),
    }


def resample(audio: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Band-limited FFT resampling along the last axis (numpy; what scipy.signal.resample does)."""
    if source_rate == target_rate:
        return audio.astype(np.float32, copy=False)
    n = audio.shape[-1]
    m = round(n * target_rate / source_rate)
    spectrum = np.fft.rfft(audio.astype(np.float64), axis=-1)
    return (np.fft.irfft(spectrum, n=m, axis=-1) * (m / n)).astype(np.float32)


class PeAudioVideoEmbedder:
    """:class:`~curation.embed.base.Embedder` over ``PeAudioVideoModel``; ``batch_size`` counts inputs per pass."""

    def __init__(
        self,
        variant: str = DEFAULT_VARIANT,
        checkpoint: str | os.PathLike[str] | None = None,
        device: str | torch.device | None = None,
        batch_size: int = 32,
        bf16: bool = False,
        *,
        random_weights: bool = False,
        text_head: str = "video",
        seed: int = 0,
    ) -> None:
        from transformers import PeAudioFeatureExtractor, PeAudioVideoModel

        if text_head not in TEXT_HEADS:
            raise ValueError(f"unknown text_head {text_head!r}; expected one of {TEXT_HEADS}")
        if random_weights and checkpoint is not None:
            raise ValueError("random_weights=True contradicts an explicit checkpoint")
        self.device = select_device(device)
        self.random_weights = random_weights
        self.path: Path | None = None
        if random_weights:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model = PeAudioVideoModel(tiny_config())
            self.tokenizer: Callable[..., Any] = _ByteTokenizer()
            self.feature_extractor = PeAudioFeatureExtractor()
        else:
            self.path = resolve_pe_checkpoint(variant, checkpoint)
            from transformers import AutoTokenizer
            from transformers.utils import is_timm_available

            model_type = json.loads((self.path / "config.json").read_text()).get("model_type")
            if model_type != "pe_audio_video":
                raise ValueError(f"{self.path} holds a {model_type!r} model, not pe_audio_video")
            if not is_timm_available():
                raise ImportError(f"{self.path}: PE audio-video's vision tower is a timm model; install timm")
            model = PeAudioVideoModel.from_pretrained(self.path, local_files_only=True)
            self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            has_fe = (self.path / "preprocessor_config.json").is_file()
            self.feature_extractor = (
                PeAudioFeatureExtractor.from_pretrained(self.path, local_files_only=True) if has_fe
                else PeAudioFeatureExtractor()
            )  # fmt: skip
        self.model = model.eval().requires_grad_(False).to(self.device)
        vision_config = self.model.config.audio_video_config.video_config.vision_config
        self.video = _video_preprocessing(self.path, vision_config)
        self.variant, self.text_head = variant, text_head
        self.name = f"pe_audio_video_{'tiny-random' if random_weights else variant.rsplit('/', 1)[-1]}"
        self.dim: int = self.model.text_audio_video_head.proj.out_features
        self.batch_size, self.bf16 = batch_size, bf16

    @torch.inference_mode()
    def _encode(self, items: Sequence[Any], per_batch: int, run: Callable[[Any], torch.Tensor]) -> np.ndarray:
        step = max(per_batch, 1)
        outputs = []
        for start in range(0, len(items), step):
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                outputs.append(run(items[start : start + step]).float())
        if not outputs:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalize(torch.cat(outputs))

    def _text(self, texts: list[str]) -> torch.Tensor:
        tokens = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TEXT_TOKENS, return_tensors="pt")
        out = self.model.text_model(
            input_ids=tokens["input_ids"].to(self.device),
            attention_mask=tokens["attention_mask"].to(self.device),
            output_hidden_states=True,
        )
        cls = out.hidden_states[-1][:, 0]
        head = {
            "audio": self.model.audio_model.text_audio_head,
            "video": self.model.video_model.text_video_head,
            "audio_video": self.model.text_audio_video_head,
        }[self.text_head]
        return head(cls)

    def _audio(self, waves: np.ndarray) -> torch.Tensor:
        """(B, samples) at 16 kHz -> audio head outputs, via the genuine feature extractor at its own rate."""
        rate = self.feature_extractor.sampling_rate
        waves = resample(waves, SAMPLE_RATE, rate)
        inputs = self.feature_extractor(list(waves), sampling_rate=rate, return_tensors="pt")
        return self.model.audio_model.get_audio_embeds(
            inputs["input_values"].to(self.device), inputs["padding_mask"].to(self.device)
        )

    def _frames(self, frames: np.ndarray) -> torch.Tensor:
        pixels = torch.from_numpy(np.stack([self._frame_tensor(f) for f in frames])).to(self.device)
        pooled = self.model.video_model.video_encoder(pixel_values_videos=pixels[:, None]).pooler_output
        return self.model.video_model.video_head(pooled)

    def _frame_tensor(self, frame: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 -> (3, h, w) float32, as PeVideoVideoProcessor documents (bilinear, rescale, normalise)."""
        from PIL import Image

        image = Image.fromarray(frame)
        v = self.video
        if v["shortest_edge"]:
            edge, (w, h) = v["height"], image.size
            scale = edge / min(w, h)
            image = image.resize((round(w * scale), round(h * scale)), Image.BILINEAR)
        else:
            image = image.resize((v["width"], v["height"]), Image.BILINEAR)
        if v["crop"] is not None:
            ch, cw = v["crop"]
            w, h = image.size
            left, top = (w - cw) // 2, (h - ch) // 2
            image = image.crop((left, top, left + cw, top + ch))
        x = np.asarray(image, dtype=np.float32) * v["rescale"]
        return ((x - v["mean"]) / v["std"]).transpose(2, 0, 1).copy()

    def embed_text(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), self.batch_size, self._text)

    def embed_audio(self, audio: np.ndarray) -> np.ndarray:
        """Whole clips in one pass each (the encoder takes variable-length waveforms)."""
        return self._encode(check_audio(audio), self.batch_size, self._audio)

    def embed_audio_per_second(self, audio: np.ndarray, window_s: float = 2.0, hop_s: float = 1.0) -> np.ndarray:
        """Window ``t`` of ``window_s`` centred on (t + 0.5) * hop_s, clamped to the clip, embedded alone."""
        audio = check_audio(audio)
        starts = per_second_starts(audio.shape[1], window_s=window_s, hop_s=hop_s)
        length = min(round(window_s * SAMPLE_RATE), audio.shape[1])
        windows = np.stack([clip[s : s + length] for clip in audio for s in starts]) if len(audio) else audio
        flat = self._encode(windows, self.batch_size, self._audio)
        return flat.reshape(len(audio), len(starts), self.dim)

    def embed_frames(self, frames: np.ndarray) -> np.ndarray:
        return self._encode(check_frames(frames), self.batch_size, self._frames)
