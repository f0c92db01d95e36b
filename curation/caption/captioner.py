"""The captioning stage of the pipeline: describe video, describe audio, condense both into one caption per clip."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from curation.caption.api_client import ApiConfigError
from curation.caption.cache import CacheKey, CaptionCache
from curation.caption.config import CaptionConfig
from curation.caption.factory import build_roles
from curation.caption.interfaces import AudioCaptioner, Summarizer, VideoCaptioner
from curation.caption.language import detect_language
from curation.caption.postprocess import clean_caption, clean_description
from curation.caption.prompts import load_prompts
from curation.caption.result import CaptionResult, models_string
from curation.errors import ClipError

log = logging.getLogger(__name__)

STAGES = ("video", "audio", "summary")


@dataclass
class _BatchState:
    """What one ``caption_batch`` call knows so far, by position in the batch: cache keys, raw texts, failures."""

    errors: dict[int, ClipError]
    keys: dict[str, dict[int, CacheKey]] = field(default_factory=dict)
    raw: dict[str, dict[int, str]] = field(default_factory=dict)


class Captioner:
    """Facade over the three roles, built from a CaptionConfig (or given roles, for other backends).

    Without any backend configured, ``is_configured`` is False and the pipeline must leave the caption columns
    empty: nothing is ever made up. Not thread-safe: one Captioner per worker.
    """

    def __init__(
        self,
        config: CaptionConfig,
        *,
        video: VideoCaptioner | None = None,
        audio: AudioCaptioner | None = None,
        summarizer: Summarizer | None = None,
    ) -> None:
        self.config = config
        self.prompts = load_prompts(config.prompt_version)
        given = (video, audio, summarizer)
        if any(role is not None for role in given) and not all(role is not None for role in given):
            raise ValueError("give all three roles (video, audio, summarizer) or none")
        if video is not None and audio is not None and summarizer is not None:
            self._roles: tuple[VideoCaptioner, AudioCaptioner, Summarizer] | None = (video, audio, summarizer)
        else:
            self._roles = build_roles(config) if config.is_configured else None
        self._cache = CaptionCache(config.cache_dir) if config.cache_dir and self._roles else None
        self._counts: Counter[str] = Counter()

    def __repr__(self) -> str:
        return (
            f"Captioner(models={self.caption_models!r}, prompt_version={self.prompts.version!r}, cache={self._cache!r})"
        )

    def __enter__(self) -> Captioner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def is_configured(self) -> bool:
        return self._roles is not None

    @property
    def caption_models(self) -> str:
        """Provenance string, e.g. ``video=LanguageBind/Video-LLaVA-7B-hf;audio=...;summary=gpt-4``; '' if unset."""
        if self._roles is None:
            return ""
        return models_string(*(role.model_id for role in self._roles))

    def caption_batch(
        self, clip_ids: Sequence[str], frames_list: Sequence[np.ndarray], audio_list: Sequence[np.ndarray]
    ) -> list[CaptionResult | ClipError]:
        """One entry per clip, in order: a CaptionResult or the ClipError that stopped it."""
        if self._roles is None:
            raise RuntimeError("no captioner configured: check is_configured and leave the caption columns empty")
        if not len(clip_ids) == len(frames_list) == len(audio_list):
            raise ValueError("clip_ids, frames_list and audio_list differ in length")
        video, audio, summarizer = self._roles
        state = _BatchState(errors={})
        for index, (frames, samples) in enumerate(zip(frames_list, audio_list, strict=True)):
            problem = _input_problem(frames, samples)
            if problem:
                state.errors[index] = ClipError("caption_failed", problem)
        live = [index for index in range(len(clip_ids)) if index not in state.errors]
        state.keys = {stage: {i: self._key(clip_ids[i], stage) for i in live} for stage in STAGES}
        state.raw = self._cached(state.keys)

        prompt_video, prompt_audio = self.prompts.video, self.prompts.audio
        self._run(state, video, "video", lambda idx: video.describe_videos([frames_list[i] for i in idx], prompt_video))
        self._run(state, audio, "audio", lambda idx: audio.describe_audios([audio_list[i] for i in idx], prompt_audio))
        descriptions = self._descriptions(state, live)
        prompts = {i: self.prompts.summary_prompt(*descriptions[i]) for i in descriptions}
        self._run(state, summarizer, "summary", lambda idx: summarizer.summarize([prompts[i] for i in idx]))

        results: list[CaptionResult | ClipError] = []
        for i, clip_id in enumerate(clip_ids):
            result = state.errors.get(i) or self._result(clip_id, descriptions[i], state.raw["summary"][i])
            if isinstance(result, ClipError):
                self._counts[f"failed_{result.reason}"] += 1
            results.append(result)
        return results

    def stats(self) -> dict[str, object]:
        """Counters for the run stats: cache hits and model calls per stage, failures per reason, API usage."""
        stats: dict[str, object] = dict(sorted(self._counts.items()))
        usage = getattr(self._roles[2], "usage", None) if self._roles else None
        if usage is not None:
            stats["api"] = usage.as_dict()
        return stats

    def close(self) -> None:
        for role in self._roles or ():
            close = getattr(role, "close", None)
            if close is not None:
                close()
        if self._cache is not None:
            self._cache.close()

    def _key(self, clip_id: str, stage: str) -> CacheKey:
        """Summaries depend on all three models, so their key carries the full provenance string."""
        assert self._roles is not None
        role = dict(zip(STAGES, self._roles, strict=True))[stage]
        model = self.caption_models if stage == "summary" else role.model_id
        prompt = self.prompts.digest("summarize" if stage == "summary" else stage)
        return CacheKey(clip_id, stage, model, prompt)

    def _cached(self, keys: dict[str, dict[int, CacheKey]]) -> dict[str, dict[int, str]]:
        if self._cache is None:
            return {stage: {} for stage in STAGES}
        found = self._cache.get_many(key for by_index in keys.values() for key in by_index.values())
        raw = {stage: {i: found[key] for i, key in keys[stage].items() if key in found} for stage in STAGES}
        for stage in STAGES:
            self._counts[f"{stage}_cache_hits"] += len(raw[stage])
        return raw

    def _run(
        self,
        state: _BatchState,
        role: VideoCaptioner | AudioCaptioner | Summarizer,
        stage: str,
        call: Callable[[list[int]], Sequence[str | ClipError]],
    ) -> None:
        """Run one stage over the clips still needing it, batch by batch, caching each batch's successes."""
        todo = [i for i in state.keys[stage] if i not in state.raw[stage] and i not in state.errors]
        for start in range(0, len(todo), role.batch_size):
            chunk = todo[start : start + role.batch_size]
            fresh: dict[CacheKey, str] = {}
            for i, output in zip(chunk, _isolated(call, chunk, stage), strict=True):
                if isinstance(output, ClipError):
                    state.errors[i] = output
                elif not output.strip():
                    state.errors[i] = ClipError("empty_caption", f"{stage} model returned no text")
                else:
                    state.raw[stage][i] = fresh[state.keys[stage][i]] = output
            self._counts[f"{stage}_calls"] += len(chunk)
            if self._cache is not None:
                self._cache.put_many(fresh)

    def _descriptions(self, state: _BatchState, live: list[int]) -> dict[int, tuple[str, str]]:
        """Cleaned (visual, audio) descriptions of the clips that have both; empty ones become errors."""
        descriptions = {}
        for i in live:
            if i in state.errors:
                continue
            try:
                descriptions[i] = (
                    clean_description(state.raw["video"][i], self.config.max_description_chars),
                    clean_description(state.raw["audio"][i], self.config.max_description_chars),
                )
            except ClipError as error:
                state.errors[i] = error
        return descriptions

    def _result(self, clip_id: str, descriptions: tuple[str, str], summary: str) -> CaptionResult | ClipError:
        try:
            caption = clean_caption(summary, self.config.max_caption_chars)
        except ClipError as error:
            return error
        return CaptionResult(
            clip_id=clip_id,
            visual_caption=descriptions[0],
            audio_caption=descriptions[1],
            caption=caption,
            caption_language=detect_language(caption),
            caption_models=self.caption_models,
            caption_prompt_version=self.prompts.version,
        )


def _isolated(
    call: Callable[[list[int]], Sequence[str | ClipError]], chunk: list[int], stage: str
) -> list[str | ClipError]:
    """The batch's outputs; if the batch raises, each clip alone, so only the clip that breaks fails."""
    try:
        outputs = list(call(chunk))
    except ApiConfigError:
        raise
    except Exception as exc:
        if len(chunk) == 1:
            return [ClipError("caption_failed", f"{stage}: {type(exc).__name__}: {exc}")]
        log.warning("%s batch of %d failed (%s); retrying clip by clip", stage, len(chunk), exc)
        return [_isolated(call, [i], stage)[0] for i in chunk]
    if len(outputs) != len(chunk):
        raise RuntimeError(f"{stage} backend returned {len(outputs)} outputs for {len(chunk)} inputs")
    return outputs


def _describe(array: object) -> str:
    return f"{array.dtype} {array.shape}" if isinstance(array, np.ndarray) else type(array).__name__


def _input_problem(frames: object, audio: object) -> str:
    """Why a decoded clip cannot be captioned, or '' when it can."""
    if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        return f"frames must be uint8 (T, H, W, 3), got {_describe(frames)}"
    if frames.shape[0] == 0:
        return "no frames"
    if not isinstance(audio, np.ndarray) or audio.dtype != np.float32 or audio.ndim != 1 or audio.size == 0:
        return f"audio must be non-empty float32 (N,), got {_describe(audio)}"
    if not np.isfinite(audio).all():
        return "audio has NaN or infinite samples"
    return ""
