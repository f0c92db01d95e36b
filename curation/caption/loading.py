"""Find a checkpoint on disk and load it: local path or HF cache only, never a download, never remote code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from huggingface_hub import constants, snapshot_download
from huggingface_hub.errors import LocalEntryNotFoundError

from curation.caption.config import CheckpointNotFoundError, ModelSpec

T = TypeVar("T")


@dataclass(frozen=True)
class Runtime:
    """Where models run: CUDA with bf16 (fp16 on older GPUs) when present, else CPU in fp32."""

    device: torch.device
    dtype: torch.dtype


def pick_runtime(device: str = "auto", dtype: str = "auto") -> Runtime:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    chosen = torch.device(device)
    if dtype != "auto":
        return Runtime(chosen, getattr(torch, dtype))
    if chosen.type == "cuda":
        return Runtime(chosen, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    return Runtime(chosen, torch.float32)


def resolve_checkpoint(spec: ModelSpec, hf_cache_dir: str | None = None) -> Path:
    """The directory holding ``spec``: its ``path`` if given, else its snapshot in the HF cache."""
    if spec.path is not None:
        path = Path(spec.path).expanduser()
        if not (path / "config.json").is_file():
            raise CheckpointNotFoundError(f"checkpoint {spec.model_id!r}: no config.json in the local path {path}")
        return path
    cache = hf_cache_dir or constants.HF_HUB_CACHE
    try:
        return Path(snapshot_download(spec.model_id, revision=spec.revision, cache_dir=cache, local_files_only=True))
    except LocalEntryNotFoundError as exc:
        raise CheckpointNotFoundError(
            f"checkpoint {spec.model_id!r} (revision {spec.revision or 'main'}) is not in the Hugging Face cache "
            f"{cache}; nothing is downloaded at run time: fetch it beforehand (e.g. `hf download {spec.model_id}`) "
            "into that cache (HF_HUB_CACHE) or into a directory given as the spec's path"
        ) from exc


def load_local(loader: Callable[..., T], path: Path, model_id: str, **kwargs: Any) -> T:
    """Call a ``from_pretrained`` on a resolved directory, turning a missing file into a clear error."""
    try:
        return loader(str(path), local_files_only=True, trust_remote_code=False, **kwargs)
    except (OSError, ValueError) as exc:
        raise CheckpointNotFoundError(
            f"checkpoint {model_id!r} at {path} is incomplete or not the expected model: {exc}"
        ) from exc
