"""Test environment: offline Hub, private caches, one torch thread (the machine has two cores)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile


def _private_cache(variable: str, prefix: str) -> None:
    """Point `variable` at a fresh directory removed when this process exits (unless the user set one).

    Worker processes (forkserver, Ray, mutmut) inherit the variable, so only the creator removes it.
    """
    if variable not in os.environ:
        path = tempfile.mkdtemp(prefix=prefix)
        os.environ[variable] = path
        atexit.register(shutil.rmtree, path, ignore_errors=True)


os.environ["HF_HUB_OFFLINE"] = "1"
_private_cache("HF_HOME", "acav1m-hf-home-")
_private_cache("HF_DATASETS_CACHE", "acav1m-hf-datasets-")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

try:
    import torch  # noqa: E402

    torch.set_num_threads(1)
except ImportError:  # torch is an extra; foundation tests run without it
    pass


@pytest.fixture(scope="session")
def built_dataset(tmp_path_factory):
    """A small `candidates`-shaped build in a directory named `acav1m` (what load_dataset('acav1m') finds)."""
    from builder.build import build_dataset
    from builder.release import ReleaseInfo
    from builder.sample import sample_records

    out = tmp_path_factory.mktemp("built") / "acav1m"
    result = build_dataset(out, sample_records(600, seed=1), release=ReleaseInfo(date_published="2026-11-22"))
    return result
