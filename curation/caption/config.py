"""Settings for the captioning stage: which checkpoints and API play each role, and how hard to push them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

DEFAULT_VIDEO_MODEL = "LanguageBind/Video-LLaVA-7B-hf"
DEFAULT_AUDIO_MODEL = "Qwen/Qwen2-Audio-7B-Instruct"
API_KEY_ENV_VARS = ("ACAV1M_LLM_API_KEY", "OPENAI_API_KEY")


class Secret:
    """A credential that never shows itself in a repr, str, log line or ``dataclasses.asdict`` dump."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __deepcopy__(self, memo: dict) -> Secret:
        return self


class CheckpointNotFoundError(FileNotFoundError):
    """A checkpoint is not where it was looked for; the message names the id and the places searched."""


@dataclass(frozen=True)
class ModelSpec:
    """A checkpoint: ``model_id`` is its Hub id (recorded as provenance); ``path`` a local copy, else the HF cache."""

    model_id: str
    path: str | None = None
    revision: str | None = None


@dataclass(frozen=True)
class ApiConfig:
    """An OpenAI-compatible chat-completions endpoint used as the summarizer (GPT-4 in the paper).

    The key comes from ``api_key`` or the first set variable of ``api_key_env``; prefer the environment so the key
    never sits in a config file. Prices are per 1,000 tokens and only feed the run's cost estimate.
    """

    model: str = "gpt-4"
    base_url: str = "https://api.openai.com/v1"
    api_key: Secret | str | None = field(default=None, repr=False)
    api_key_env: tuple[str, ...] = API_KEY_ENV_VARS
    timeout_s: float = 60.0
    max_retries: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    concurrency: int = 8
    temperature: float = 0.2
    max_tokens: int = 120
    price_prompt_per_1k: float = 0.0
    price_completion_per_1k: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.api_key, str):
            object.__setattr__(self, "api_key", Secret(self.api_key))
        if self.concurrency < 1 or self.max_retries < 0 or self.timeout_s <= 0:
            raise ValueError("ApiConfig needs concurrency >= 1, max_retries >= 0 and timeout_s > 0")

    def resolve_key(self) -> Secret | None:
        """The configured key, else the first non-empty environment variable; None for keyless local servers."""
        if isinstance(self.api_key, Secret):
            return self.api_key
        for name in self.api_key_env:
            value = os.environ.get(name, "").strip()
            if value:
                return Secret(value)
        return None


@dataclass(frozen=True)
class CaptionConfig:
    """Which backend plays each role. All three roles set: captioning runs; none set: the stage is skipped.

    The summarizer is either ``summary_api`` (paper: GPT-4) or ``summary_model`` (a local instruction-tuned causal LM).
    """

    video_model: ModelSpec | None = None
    audio_model: ModelSpec | None = None
    summary_api: ApiConfig | None = None
    summary_model: ModelSpec | None = None
    prompt_version: str = "v1"
    batch_size: int = 4
    num_frames: int = 8
    max_new_tokens: int = 96
    summary_max_new_tokens: int = 60
    max_caption_chars: int = 300
    max_description_chars: int = 1000
    cache_dir: str | None = None
    hf_cache_dir: str | None = None
    device: str = "auto"
    dtype: str = "auto"

    def __post_init__(self) -> None:
        if self.summary_api is not None and self.summary_model is not None:
            raise ValueError("set summary_api or summary_model, not both")
        roles = (self.video_model, self.audio_model, self.summary_api or self.summary_model)
        if any(role is not None for role in roles) and not all(role is not None for role in roles):
            raise ValueError("captioning needs a video model, an audio model and a summarizer; got only some")
        if self.batch_size < 1 or self.num_frames < 1:
            raise ValueError("batch_size and num_frames must be >= 1")

    @property
    def is_configured(self) -> bool:
        return self.video_model is not None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaptionConfig:
        """From plain settings (YAML/JSON): a model is an id string or ``{model_id, path, revision}``, the API a
        mapping of ApiConfig fields. Unknown keys fail loudly rather than being ignored."""
        _reject_unknown(cls, data)
        values = dict(data)
        for name in ("video_model", "audio_model", "summary_model"):
            if isinstance(values.get(name), str):
                values[name] = ModelSpec(values[name])
            elif isinstance(values.get(name), Mapping):
                _reject_unknown(ModelSpec, values[name])
                values[name] = ModelSpec(**values[name])
        if isinstance(values.get("summary_api"), Mapping):
            api = dict(values["summary_api"])
            _reject_unknown(ApiConfig, api)
            if "api_key_env" in api:
                api["api_key_env"] = tuple(api["api_key_env"])
            values["summary_api"] = ApiConfig(**api)
        return cls(**values)

    @classmethod
    def paper_setup(cls, api: ApiConfig | None = None, **overrides: object) -> CaptionConfig:
        """VideoLLaVA + Qwen2-Audio (stand-in for WavCaps) + an API LLM, as close to §3.1 as transformers allows."""
        return cls(
            video_model=ModelSpec(DEFAULT_VIDEO_MODEL),
            audio_model=ModelSpec(DEFAULT_AUDIO_MODEL),
            summary_api=api or ApiConfig(),
            **overrides,  # type: ignore[arg-type]
        )


def _reject_unknown(cls: type, data: Mapping[str, Any]) -> None:
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"unknown {cls.__name__} settings: {sorted(unknown)}")
