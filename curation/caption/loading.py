"""Find a checkpoint on disk and load it: local path or HF cache only, never a download, never remote code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

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


class LocalBackend:
    """What every local transformers backend shares: the resolved checkpoint, the runtime and its settings.

    A subclass names its default ``max_new_tokens`` and loads its parts in ``_load``, which the constructor calls
    once the checkpoint is found.
    """

    default_max_new_tokens: ClassVar[int]

    def __init__(
        self,
        spec: ModelSpec,
        runtime: Runtime,
        *,
        max_new_tokens: int | None = None,
        batch_size: int = 4,
        hf_cache_dir: str | None = None,
    ) -> None:
        self._path = resolve_checkpoint(spec, hf_cache_dir)
        self.model_id = spec.model_id
        self.batch_size = batch_size
        self._runtime = runtime
        self._max_new_tokens = self.default_max_new_tokens if max_new_tokens is None else max_new_tokens
        self._load()

    def _load(self) -> None:
        raise NotImplementedError

    def _from_checkpoint(self, loader: Callable[..., T], **kwargs: Any) -> T:
        return load_local(loader, self._path, self.model_id, **kwargs)

    def _load_model(self, model_class: Any) -> Any:
        """``model_class`` from the checkpoint in the runtime's dtype, on its device, in eval mode."""
        model = self._from_checkpoint(model_class.from_pretrained, dtype=self._runtime.dtype)
        return model.to(self._runtime.device).eval()
