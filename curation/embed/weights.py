"""Finding and loading local model weights. Nothing here downloads: the machines that run curation are offline.

Resolution order (first existing file wins): an explicit path; ``$ACAV1M_IMAGEBIND_CHECKPOINT``;
``./.checkpoints/imagebind_huge.pth`` (where upstream ImageBind puts it); the local Hugging Face cache for
``hf_repo_id``/``hf_filename`` (``$ACAV1M_IMAGEBIND_HF_REPO``; no repo is configured by default because there
is no official Hub mirror of ImageBind). An explicit path that does not exist is an error on its own: falling
back to some other file would silently score with weights the caller did not ask for.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from huggingface_hub import try_to_load_from_cache

CHECKPOINT_ENV = "ACAV1M_IMAGEBIND_CHECKPOINT"
HF_REPO_ENV = "ACAV1M_IMAGEBIND_HF_REPO"


@dataclass(frozen=True)
class WeightsLocation:
    """Where ``resolve_checkpoint`` looks; ``local_path`` is relative to the working directory at call time."""

    env_var: str = CHECKPOINT_ENV
    local_path: str = ".checkpoints/imagebind_huge.pth"
    hf_repo_id: str | None = field(default_factory=lambda: os.environ.get(HF_REPO_ENV) or None)
    hf_filename: str = "imagebind_huge.pth"
    hf_cache_dir: str | None = None


def resolve_checkpoint(
    explicit: str | os.PathLike[str] | None = None, location: WeightsLocation | None = None
) -> Path:
    """Path of the first weights file found, else FileNotFoundError listing every place looked at."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if path.is_file():
            return path
        raise FileNotFoundError(f"checkpoint passed explicitly does not exist: {path}")
    loc = location or WeightsLocation()
    looked: list[str] = []
    env_value = os.environ.get(loc.env_var)
    if env_value:
        path = Path(env_value).expanduser()
        if path.is_file():
            return path
        looked.append(f"${loc.env_var} = {path} (no such file)")
    else:
        looked.append(f"${loc.env_var} (not set)")
    path = Path(loc.local_path).expanduser().absolute()
    if path.is_file():
        return path
    looked.append(f"{path} (no such file)")
    if loc.hf_repo_id:
        cached = try_to_load_from_cache(loc.hf_repo_id, loc.hf_filename, cache_dir=loc.hf_cache_dir)
        if isinstance(cached, str):
            return Path(cached)
        looked.append(f"Hugging Face cache: {loc.hf_repo_id}/{loc.hf_filename} (not cached)")
    else:
        looked.append(f"Hugging Face cache (skipped: no repo id; set ${HF_REPO_ENV})")
    raise FileNotFoundError(
        "ImageBind weights not found; looked at:\n  - "
        + "\n  - ".join(looked)
        + "\nNothing is downloaded. Copy imagebind_huge.pth to one of these places or pass checkpoint=PATH."
    )


def check_checkpoint(path: str | os.PathLike[str]) -> Path:
    """Fail fast, before a model is built, on a file that cannot be a torch.save checkpoint (a zip archive)."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a PyTorch checkpoint (torch.save writes a zip archive; this file is "
                         "not one): point embed.checkpoint at the .pth weights file")
    return path


def load_weights(model: torch.nn.Module, path: str | os.PathLike[str]) -> torch.nn.Module:
    """Load a state_dict file into ``model`` in place, strictly.

    mmap + assign makes the parameters views of the file instead of copies: peak RSS for ImageBind huge is
    ~5 GB instead of ~9.6 GB. weights_only refuses pickled code.
    """
    check_checkpoint(path)
    try:
        state = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    except (RuntimeError, ValueError, EOFError, OSError, pickle.UnpicklingError) as error:
        raise ValueError(f"{path} is not a PyTorch checkpoint (a state_dict saved with torch.save): "
                         f"{' '.join(str(error).split())[:200]}") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state_dict")
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as error:
        first = " ".join(str(error).split())[:200]
        raise ValueError(f"{path} is a checkpoint of another model or size: {first}") from None
    return model
