"""Captioning throughput on this machine: each transformers backend on tiny random checkpoints (CPU), and the
chat-completions client against a local server with simulated latency at several concurrency limits.

Tiny checkpoints measure the pipeline's own overhead (preprocessing, tokenising, generate plumbing), not what a 7B
model costs; the API figures bound how fast the summarize step can go before the real endpoint's limits.

    .venv/bin/python benchmarks/bench_caption.py [--clips 16] [--requests 200] [--latency-ms 20]
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from curation.caption import ApiConfig, CaptionConfig, Captioner
from curation.caption.api_client import ChatCompletionsClient
from curation.caption.api_summarizer import ApiSummarizer
from curation.caption.http_transport import HttpxTransport, Transport, UrllibTransport, httpx
from curation.caption.loading import pick_runtime
from curation.caption.local_llm import LocalLLMSummarizer
from curation.caption.prompts import load_prompts
from curation.caption.qwen2_audio import Qwen2AudioCaptioner
from curation.caption.video_llava import VideoLlavaCaptioner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' offline stand-ins
from chat_server import ChatServer, Reply, completion  # noqa: E402
from tiny_caption_checkpoints import save_tiny_checkpoints  # noqa: E402


def timed(run: Callable[[], object], items: int) -> float:
    """Items per second of one call, after one warm-up call."""
    run()
    started = time.perf_counter()
    run()
    return items / (time.perf_counter() - started)


def in_batches(call: Callable[[list], object], items: list, batch_size: int) -> Callable[[], None]:
    def run() -> None:
        for start in range(0, len(items), batch_size):
            call(items[start : start + batch_size])

    return run


def bench_models(workdir: Path, clips: int, batch_size: int, new_tokens: int) -> None:
    specs = save_tiny_checkpoints(workdir)
    runtime = pick_runtime()
    prompts = load_prompts()
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (10, 224, 224, 3), dtype=np.uint8) for _ in range(clips)]
    audios = [(rng.standard_normal(160_000) * 0.1).astype(np.float32) for _ in range(clips)]
    summaries = [prompts.summary_prompt("A dog runs in a park.", "Barking and wind.")] * clips
    video = VideoLlavaCaptioner(specs["video"], runtime, max_new_tokens=new_tokens)
    audio = Qwen2AudioCaptioner(specs["audio"], runtime, max_new_tokens=new_tokens)
    summary = LocalLLMSummarizer(specs["summary"], runtime, max_new_tokens=new_tokens)
    print(
        f"transformers backends, tiny random checkpoints, {runtime.device.type}/{runtime.dtype}, "
        f"{clips} clips, batch {batch_size}, {new_tokens} new tokens, torch threads {torch.get_num_threads()}"
    )
    rows = [
        ("VideoLLaVA (8 frames)", in_batches(lambda b: video.describe_videos(b, prompts.video), frames, batch_size)),
        ("Qwen2-Audio (10 s)", in_batches(lambda b: audio.describe_audios(b, prompts.audio), audios, batch_size)),
        ("local LLM summarizer", in_batches(summary.summarize, summaries, batch_size)),
    ]
    for name, run in rows:
        print(f"  {name:<28} {timed(run, clips):8.1f} captions/s")
    config = CaptionConfig(
        video_model=specs["video"],
        audio_model=specs["audio"],
        summary_model=specs["summary"],
        batch_size=batch_size,
        max_new_tokens=new_tokens,
        summary_max_new_tokens=new_tokens,
    )
    with Captioner(config) as captioner:
        ids = [f"clip{i}" for i in range(clips)]
        rate = timed(lambda: captioner.caption_batch(ids, frames, audios), clips)
    print(f"  {'Captioner, all three roles':<28} {rate:8.1f} clips/s (no cache)")


def bench_api(requests: int, latency_ms: float) -> None:
    print(f"chat-completions client vs local server, {latency_ms:.0f} ms simulated latency, {requests} requests")
    script = lambda number, request: Reply(body=completion("A dog barks."), delay_s=latency_ms / 1000)  # noqa: E731
    transports: dict[str, Callable[[int], Transport]] = {"urllib": lambda n: UrllibTransport()}
    if httpx is not None:
        transports = {"httpx": HttpxTransport, **transports}
    for name, make_transport in transports.items():
        for concurrency in (1, 8, 32):
            count = min(requests, 50) if concurrency == 1 else requests
            with ChatServer(script) as server:
                config = ApiConfig(base_url=server.base_url, api_key="sk-bench", concurrency=concurrency)
                client = ChatCompletionsClient(config, transport=make_transport(concurrency))
                summarizer = ApiSummarizer(client, config.model, concurrency)
                prompts = [f"prompt {i}" for i in range(count)]
                started = time.perf_counter()
                outputs = summarizer.summarize(prompts)
                rate = count / (time.perf_counter() - started)
                summarizer.close()
            assert all(isinstance(text, str) for text in outputs)
            print(
                f"  {name:<7} concurrency {concurrency:>2}: {rate:7.1f} requests/s "
                f"(server saw at most {server.max_in_flight} in flight)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (2+ thrash on a busy 2-core box)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as workdir:
        bench_models(Path(workdir), args.clips, args.batch_size, args.new_tokens)
    bench_api(args.requests, args.latency_ms)


if __name__ == "__main__":
    main()
