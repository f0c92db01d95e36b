"""The Captioner facade with stand-in roles: batching, failure isolation, caching, resume, provenance."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from curation.caption import ApiConfig, ApiConfigError, CaptionConfig, Captioner, CaptionResult, ModelSpec
from curation.caption.cache import CacheKey, CaptionCache
from curation.errors import ClipError

BAD = 255  # first pixel value that makes the fake video role raise


class FakeVideo:
    model_id = "fake/video"
    batch_size = 2

    def __init__(self) -> None:
        self.seen: list[int] = []

    def describe_videos(self, frames: Sequence[np.ndarray], prompt: str) -> list[str]:
        assert "Describe this video" in prompt
        if any(int(clip[0, 0, 0, 0]) == BAD for clip in frames):
            raise RuntimeError("decoder exploded")
        self.seen.append(len(frames))
        return [f"Scene {int(clip[0, 0, 0, 1])} with a dog." for clip in frames]


class FakeAudio:
    model_id = "fake/audio"
    batch_size = 3

    def __init__(self) -> None:
        self.seen: list[int] = []

    def describe_audios(self, audios: Sequence[np.ndarray], prompt: str) -> list[str]:
        self.seen.append(len(audios))
        return ["Barking and wind." for _ in audios]


class FakeSummarizer:
    model_id = "fake/llm"
    batch_size = 4

    def __init__(self, answer: str = 'Caption: "A dog barks in the wind. It is windy."') -> None:
        self.answer = answer
        self.prompts: list[str] = []

    def summarize(self, prompts: Sequence[str]) -> list[str | ClipError]:
        self.prompts.extend(prompts)
        return [self.answer for _ in prompts]


def clip(marker: int, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
    frames = np.zeros((10, 224, 224, 3), dtype=np.uint8)
    frames[0, 0, 0, 0] = first
    frames[0, 0, 0, 1] = marker
    return frames, np.zeros(160_000, dtype=np.float32)


def batch(n: int, bad: Sequence[int] = ()) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    clips = [clip(i, BAD if i in bad else 0) for i in range(n)]
    return [f"clip{i}" for i in range(n)], [c[0] for c in clips], [c[1] for c in clips]


def make(tmp_path: Path | None = None, summarizer: FakeSummarizer | None = None) -> Captioner:
    config = CaptionConfig(cache_dir=str(tmp_path) if tmp_path else None, max_caption_chars=200)
    return Captioner(config, video=FakeVideo(), audio=FakeAudio(), summarizer=summarizer or FakeSummarizer())


def test_results_carry_captions_language_and_provenance() -> None:
    captioner = make()
    results = captioner.caption_batch(*batch(5))
    assert all(isinstance(result, CaptionResult) for result in results)
    first = results[0]
    assert first.clip_id == "clip0"
    assert first.visual_caption == "Scene 0 with a dog."
    assert first.audio_caption == "Barking and wind."
    assert first.caption == "A dog barks in the wind."
    assert first.caption_language == "en"
    assert first.caption_models == "video=fake/video;audio=fake/audio;summary=fake/llm"
    assert first.caption_prompt_version == "v1"
    video, audio, summarizer = captioner._roles
    assert video.seen == [2, 2, 1] and audio.seen == [3, 2]
    assert "Visual description: Scene 3 with a dog." in summarizer.prompts[3]
    assert captioner.stats()["summary_calls"] == 5


def test_one_failing_clip_does_not_fail_its_batch() -> None:
    results = make().caption_batch(*batch(4, bad=[1]))
    assert isinstance(results[1], ClipError) and results[1].reason == "caption_failed"
    assert "decoder exploded" in results[1].detail
    assert [isinstance(r, CaptionResult) for r in results] == [True, False, True, True]


def test_invalid_inputs_fail_only_their_clip() -> None:
    ids, frames, audios = batch(3)
    frames[0] = frames[0].astype(np.float32)
    audios[2] = np.array([np.nan] * 10, dtype=np.float32)
    captioner = make()
    results = captioner.caption_batch(ids, frames, audios)
    assert [r.reason if isinstance(r, ClipError) else "ok" for r in results] == [
        "caption_failed",
        "ok",
        "caption_failed",
    ]
    assert captioner._roles[0].seen == [1]
    assert captioner.stats()["failed_caption_failed"] == 2
    with pytest.raises(ValueError):
        captioner.caption_batch(ids, frames[:2], audios)


@pytest.mark.parametrize(("answer", "reason"), [("", "empty_caption"), ('Caption: ""', "empty_caption")])
def test_empty_summaries_are_clip_errors(answer: str, reason: str) -> None:
    results = make(summarizer=FakeSummarizer(answer)).caption_batch(*batch(2))
    assert all(isinstance(r, ClipError) and r.reason == reason for r in results)


def test_summarizer_clip_errors_pass_through() -> None:
    class Failing(FakeSummarizer):
        def summarize(self, prompts: Sequence[str]) -> list[str | ClipError]:
            return [ClipError("caption_api_error", "HTTP 500") for _ in prompts]

    results = make(summarizer=Failing()).caption_batch(*batch(2))
    assert all(isinstance(r, ClipError) and r.reason == "caption_api_error" for r in results)


def test_api_config_errors_stop_the_run() -> None:
    class Refused(FakeSummarizer):
        def summarize(self, prompts: Sequence[str]) -> list[str | ClipError]:
            raise ApiConfigError("401")

    with pytest.raises(ApiConfigError):
        make(summarizer=Refused()).caption_batch(*batch(2))


def test_rerun_reads_the_cache_and_pays_nothing(tmp_path: Path) -> None:
    with make(tmp_path) as first:
        expected = first.caption_batch(*batch(3))
    second = make(tmp_path)
    assert second.caption_batch(*batch(3)) == expected
    video, audio, summarizer = second._roles
    assert video.seen == [] and audio.seen == [] and summarizer.prompts == []
    assert second.stats()["summary_cache_hits"] == 3
    second.close()


def test_failed_summaries_resume_without_recomputing_descriptions(tmp_path: Path) -> None:
    with make(tmp_path, FakeSummarizer("")) as first:
        assert all(isinstance(r, ClipError) for r in first.caption_batch(*batch(3)))
    with make(tmp_path) as second:
        results = second.caption_batch(*batch(3))
        video, audio, summarizer = second._roles
        assert all(isinstance(r, CaptionResult) for r in results)
        assert video.seen == [] and audio.seen == [] and len(summarizer.prompts) == 3


def test_prompt_or_model_change_misses_the_cache(tmp_path: Path) -> None:
    with make(tmp_path) as first:
        first.caption_batch(*batch(2))
    with make(tmp_path) as edited:
        edited.prompts = dataclasses.replace(edited.prompts, summarize=edited.prompts.summarize + " Be brief.")
        edited.caption_batch(*batch(2))
        video, _, summarizer = edited._roles
        assert video.seen == [] and len(summarizer.prompts) == 2
    other_audio = FakeAudio()
    other_audio.model_id = "fake/audio-v2"
    config = CaptionConfig(cache_dir=str(tmp_path))
    with Captioner(config, video=FakeVideo(), audio=other_audio, summarizer=FakeSummarizer()) as swapped:
        results = swapped.caption_batch(*batch(2))
        assert swapped._roles[0].seen == [] and other_audio.seen == [2] and len(swapped._roles[2].prompts) == 2
        assert results[0].caption_models == "video=fake/video;audio=fake/audio-v2;summary=fake/llm"


def test_cache_round_trip_and_atomic_batches(tmp_path: Path) -> None:
    cache = CaptionCache(tmp_path)
    key = CacheKey("clip0", "video", "m", "v1:abc")
    cache.put_many({key: "A dog."})
    assert cache.get_many([key, dataclasses.replace(key, prompt="v2:abc")]) == {key: "A dog."}
    with pytest.raises(sqlite3.IntegrityError):
        cache.put_many({CacheKey("clip1", "video", "m", "p"): "ok", CacheKey("clip2", "video", "m", "p"): None})
    assert cache.get_many([CacheKey("clip1", "video", "m", "p")]) == {}
    cache.close()


def test_unconfigured_captioner_fakes_nothing() -> None:
    captioner = Captioner(CaptionConfig())
    assert not captioner.is_configured
    assert captioner.caption_models == ""
    with pytest.raises(RuntimeError, match="no captioner configured"):
        captioner.caption_batch(*batch(1))
    with pytest.raises(ValueError):
        CaptionConfig(video_model=ModelSpec("a/b"))
    with pytest.raises(ValueError):
        CaptionConfig(
            video_model=ModelSpec("a/b"),
            audio_model=ModelSpec("c/d"),
            summary_api=ApiConfig(),
            summary_model=ModelSpec("e/f"),
        )
    with pytest.raises(ValueError):
        Captioner(CaptionConfig(), video=FakeVideo())


def test_paper_setup_names_the_paper_models() -> None:
    config = CaptionConfig.paper_setup(ApiConfig(model="gpt-4"))
    assert config.video_model == ModelSpec("LanguageBind/Video-LLaVA-7B-hf")
    assert config.audio_model == ModelSpec("Qwen/Qwen2-Audio-7B-Instruct")
    assert config.is_configured and config.summary_api.model == "gpt-4"


def test_config_from_plain_settings() -> None:
    config = CaptionConfig.from_dict(
        {
            "video_model": "LanguageBind/Video-LLaVA-7B-hf",
            "audio_model": {"model_id": "Qwen/Qwen2-Audio-7B-Instruct", "path": "/models/qwen2-audio"},
            "summary_api": {"model": "gpt-4o", "concurrency": 16, "api_key_env": ["MY_KEY"]},
            "batch_size": 8,
            "cache_dir": "out/caption-cache",
        }
    )
    assert config.video_model == ModelSpec("LanguageBind/Video-LLaVA-7B-hf")
    assert config.audio_model.path == "/models/qwen2-audio"
    assert config.summary_api.concurrency == 16 and config.summary_api.api_key_env == ("MY_KEY",)
    assert config.batch_size == 8 and config.is_configured
    assert not CaptionConfig.from_dict({}).is_configured
    with pytest.raises(ValueError, match="unknown"):
        CaptionConfig.from_dict({"video": "x"})
    with pytest.raises(ValueError, match="unknown ApiConfig"):
        CaptionConfig.from_dict({"summary_api": {"modle": "gpt-4"}})
