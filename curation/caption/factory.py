"""Build the three roles a CaptionConfig names; loading fails fast with the missing checkpoint's id and path."""

from __future__ import annotations

from curation.caption.api_client import ChatCompletionsClient
from curation.caption.api_summarizer import ApiSummarizer
from curation.caption.config import CaptionConfig
from curation.caption.interfaces import AudioCaptioner, Summarizer, VideoCaptioner


def build_roles(config: CaptionConfig) -> tuple[VideoCaptioner, AudioCaptioner, Summarizer]:
    """Imports torch/transformers only here: a run without captioning should not pay ~10 s of imports."""
    from curation.caption.loading import pick_runtime
    from curation.caption.local_llm import LocalLLMSummarizer
    from curation.caption.qwen2_audio import Qwen2AudioCaptioner
    from curation.caption.video_llava import VideoLlavaCaptioner

    if config.video_model is None or config.audio_model is None:
        raise ValueError("caption config has no video/audio model")
    runtime = pick_runtime(config.device, config.dtype)
    shared = {"batch_size": config.batch_size, "hf_cache_dir": config.hf_cache_dir}
    video = VideoLlavaCaptioner(
        config.video_model, runtime, num_frames=config.num_frames, max_new_tokens=config.max_new_tokens, **shared
    )
    audio = Qwen2AudioCaptioner(config.audio_model, runtime, max_new_tokens=config.max_new_tokens, **shared)
    summarizer: Summarizer
    if config.summary_api is not None:
        api = config.summary_api
        summarizer = ApiSummarizer(ChatCompletionsClient(api), api.model, api.concurrency)
    elif config.summary_model is not None:
        summarizer = LocalLLMSummarizer(
            config.summary_model, runtime, max_new_tokens=config.summary_max_new_tokens, **shared
        )
    else:
        raise ValueError("caption config has no summarizer")
    return video, audio, summarizer
