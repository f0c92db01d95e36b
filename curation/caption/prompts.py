"""Versioned prompt files: a caption records its version, so a prompt change never silently mixes into a release."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

ROLES = ("video", "audio", "summarize")
_VERSION = re.compile(r"v\d+")


@dataclass(frozen=True)
class PromptSet:
    """The three prompts of one version; ``summarize`` has ``{visual_caption}`` and ``{audio_caption}`` slots."""

    version: str
    video: str
    audio: str
    summarize: str

    def digest(self, role: str) -> str:
        """Version plus a hash of the text: cache keys change even if someone edits a file without a new version."""
        text = getattr(self, role)
        return f"{self.version}:{hashlib.sha256(text.encode()).hexdigest()[:12]}"

    def summary_prompt(self, visual_caption: str, audio_caption: str) -> str:
        return self.summarize.format(visual_caption=visual_caption, audio_caption=audio_caption)


def available_versions() -> list[str]:
    files = resources.files(__package__).joinpath("prompts").iterdir()
    return sorted(
        {name.split("_")[-1].removesuffix(".txt") for name in (f.name for f in files) if name.endswith(".txt")}
    )


def load_prompts(version: str = "v1") -> PromptSet:
    """Read ``prompts/{role}_{version}.txt`` for every role; unknown versions fail with the ones that exist."""
    if not _VERSION.fullmatch(version):
        raise ValueError(f"prompt version must look like 'v1', got {version!r}")
    folder = resources.files(__package__).joinpath("prompts")
    texts = {}
    for role in ROLES:
        source = folder.joinpath(f"{role}_{version}.txt")
        if not source.is_file():
            raise FileNotFoundError(f"no prompt {role}_{version}.txt; versions available: {available_versions()}")
        texts[role] = source.read_text(encoding="utf-8").strip()
    return PromptSet(version=version, **texts)
