"""The transformers backends on tiny random checkpoints of the genuine classes, loaded through the real code."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from chat_server import ChatServer
from tiny_caption_checkpoints import TINY_VIDEO_ID, save_tiny_checkpoints, tiny_tokenizer

from curation.caption import ApiConfig, CaptionConfig, Captioner, CaptionResult, CheckpointNotFoundError, ModelSpec
from curation.caption.generation import ensure_pad_token
from curation.caption.loading import pick_runtime, resolve_checkpoint
from curation.caption.local_llm import LocalLLMSummarizer
from curation.caption.prompts import load_prompts
from curation.caption.qwen2_audio import Qwen2AudioCaptioner
from curation.caption.video_llava import VideoLlavaCaptioner, sample_frame_indices

torch.set_num_threads(1)
PROMPTS = load_prompts("v1")
CPU = pick_runtime("cpu")


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModelSpec]:
    return save_tiny_checkpoints(tmp_path_factory.mktemp("tiny-checkpoints"))


def clips(n: int) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(7)
    frames = [rng.integers(0, 256, (10, 224, 224, 3), dtype=np.uint8) for _ in range(n)]
    audios = [(rng.standard_normal(160_000) * 0.1).astype(np.float32) for _ in range(n)]
    return [f"yt{i:03d}_000010" for i in range(n)], frames, audios


def test_frames_are_sampled_evenly() -> None:
    assert sample_frame_indices(10, 8).tolist() == [0, 1, 3, 4, 5, 6, 8, 9]
    assert sample_frame_indices(3, 8).tolist() == [0, 0, 1, 1, 1, 1, 2, 2]


def test_runtime_picks_cpu_fp32_without_cuda() -> None:
    runtime = pick_runtime()
    if not torch.cuda.is_available():
        assert (runtime.device.type, runtime.dtype) == ("cpu", torch.float32)
    assert pick_runtime("cpu", "bfloat16").dtype == torch.bfloat16


def test_video_llava_batches_match_single_clips(specs: dict[str, ModelSpec]) -> None:
    captioner = VideoLlavaCaptioner(specs["video"], CPU, num_frames=8, max_new_tokens=6)
    _, frames, _ = clips(3)
    together = captioner.describe_videos(frames, PROMPTS.video)
    alone = [captioner.describe_videos([clip], PROMPTS.video)[0] for clip in frames]
    assert together == alone
    assert all(isinstance(text, str) and len(text.split()) == 6 for text in together)
    assert together[0] != together[1], "different frames, different text"


def test_qwen2_audio_batches_match_single_clips(specs: dict[str, ModelSpec]) -> None:
    captioner = Qwen2AudioCaptioner(specs["audio"], CPU, max_new_tokens=6)
    _, _, audios = clips(2)
    audios[1] = np.sin(np.arange(160_000, dtype=np.float32) / 3).astype(np.float32)
    together = captioner.describe_audios(audios, PROMPTS.audio)
    alone = [captioner.describe_audios([audio], PROMPTS.audio)[0] for audio in audios]
    assert together == alone
    assert all(len(text.split()) == 6 for text in together)


def test_local_llm_summarizer_uses_the_chat_template(specs: dict[str, ModelSpec]) -> None:
    summarizer = LocalLLMSummarizer(specs["summary"], CPU, max_new_tokens=5)
    prompts = [PROMPTS.summary_prompt("A dog runs.", "Barking."), PROMPTS.summary_prompt("A car.", "An engine.")]
    together = summarizer.summarize(prompts)
    assert together == [summarizer.summarize([prompt])[0] for prompt in prompts]
    assert all(len(text.split()) == 5 for text in together)


def test_checkpoints_resolve_from_the_hf_cache_layout(specs: dict[str, ModelSpec], tmp_path: Path) -> None:
    snapshot = tmp_path / "models--acav1m-tiny--video-llava" / "snapshots" / "0123abcd"
    shutil.copytree(specs["video"].path, snapshot)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("0123abcd")
    spec = ModelSpec(TINY_VIDEO_ID)
    assert resolve_checkpoint(spec, str(tmp_path)) == snapshot
    captioner = VideoLlavaCaptioner(spec, CPU, max_new_tokens=2, hf_cache_dir=str(tmp_path))
    assert captioner.model_id == TINY_VIDEO_ID


def test_missing_checkpoints_say_what_and_where(tmp_path: Path) -> None:
    with pytest.raises(CheckpointNotFoundError) as in_cache:
        resolve_checkpoint(ModelSpec("LanguageBind/Video-LLaVA-7B-hf"), str(tmp_path))
    assert "LanguageBind/Video-LLaVA-7B-hf" in str(in_cache.value) and str(tmp_path) in str(in_cache.value)
    with pytest.raises(CheckpointNotFoundError) as at_path:
        resolve_checkpoint(ModelSpec("Qwen/Qwen2-Audio-7B-Instruct", str(tmp_path / "nowhere")))
    assert "Qwen/Qwen2-Audio-7B-Instruct" in str(at_path.value) and "nowhere" in str(at_path.value)
    (tmp_path / "config-only").mkdir()
    (tmp_path / "config-only" / "config.json").write_text('{"model_type": "llama"}')
    with pytest.raises(CheckpointNotFoundError, match="incomplete"):
        LocalLLMSummarizer(ModelSpec("org/partial", str(tmp_path / "config-only")), CPU)


def test_captioner_end_to_end_with_a_local_summarizer(specs: dict[str, ModelSpec], tmp_path: Path) -> None:
    config = CaptionConfig(
        video_model=specs["video"],
        audio_model=specs["audio"],
        summary_model=specs["summary"],
        batch_size=2,
        max_new_tokens=8,
        summary_max_new_tokens=40,
        max_caption_chars=60,
        cache_dir=str(tmp_path / "cache"),
        device="cpu",
    )
    ids, frames, audios = clips(3)
    with Captioner(config) as captioner:
        results = captioner.caption_batch(ids, frames, audios)
    assert [r.clip_id for r in results] == ids
    for result in results:
        assert isinstance(result, CaptionResult)
        assert result.visual_caption and result.audio_caption
        assert 0 < len(result.caption) <= 60
        assert result.caption_language and result.caption_language.isalpha()
        assert result.caption_models == (
            "video=acav1m-tiny/video-llava;audio=acav1m-tiny/qwen2-audio;summary=acav1m-tiny/llama-lm"
        )
        assert result.caption_prompt_version == "v1"
    with Captioner(config) as resumed:
        assert resumed.caption_batch(ids, frames, audios) == results
        stats = resumed.stats()
    assert stats["summary_cache_hits"] == 3 and "video_calls" not in stats


def test_captioner_with_the_api_summarizer(specs: dict[str, ModelSpec]) -> None:
    with ChatServer() as server:
        api = ApiConfig(model="gpt-4", base_url=server.base_url, api_key="sk-local", price_prompt_per_1k=0.01)
        config = CaptionConfig(
            video_model=specs["video"], audio_model=specs["audio"], summary_api=api, max_new_tokens=4, device="cpu"
        )
        ids, frames, audios = clips(2)
        with Captioner(config) as captioner:
            results = captioner.caption_batch(ids, frames, audios)
            stats = captioner.stats()
    replies = {"A dog barks in a park, reply 0.", "A dog barks in a park, reply 1."}  # in arrival order
    assert {r.caption for r in results} == replies
    assert all(r.caption_language == "en" for r in results)
    assert results[0].caption_models.endswith(";summary=gpt-4")
    sent = sorted(request["messages"][0]["content"] for request in server.requests)
    assert sent == sorted(load_prompts("v1").summary_prompt(r.visual_caption, r.audio_caption) for r in results)
    assert stats["api"]["succeeded"] == 2 and stats["api"]["prompt_tokens"] == 40
    assert stats["api"]["cost_usd"] == pytest.approx(0.0004)


def test_tokenizers_without_a_pad_token_get_one() -> None:
    tokenizer = tiny_tokenizer([])
    tokenizer.pad_token = None
    ensure_pad_token(tokenizer)
    assert tokenizer.pad_token == "</s>"
