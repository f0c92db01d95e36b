"""Metadata probe throughput (ACAV100M pre-pass): videos/s against a local server with simulated latency.

Each page is a web page with schema.org VideoObject metadata, answered after LATENCY_S (a stand-in for a
remote site); the probe reads it through yt-dlp's generic extractor in the fetch worker processes. Prints
videos/s at several concurrencies side by side, then a rerun served from the per-id cache.

    .venv/bin/python benchmarks/bench_probe.py [--videos 48] [--latency 0.3]
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import tempfile
import threading
import time
from pathlib import Path

from curation.fetch import FetchConfig
from curation.metadata.filters import MetadataConfig
from curation.sources import Candidate, clip_id
from curation.stages.probe import screen_candidates


def serve(latency_s: float) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None: ...

        def do_GET(self) -> None:
            time.sleep(latency_s)
            name = self.path.strip("/").removesuffix(".html")
            ld = {"@context": "https://schema.org", "@type": "VideoObject", "name": f"Walk number {name} by the sea",
                  "description": "Waves, wind and gulls.", "duration": "PT95S", "uploadDate": "2024-03-01",
                  "contentUrl": f"http://127.0.0.1:{self.server.server_port}/m/{name}.mp4", "encodingFormat": "video/mp4"}
            body = f"<html><head><script type=\"application/ld+json\">{json.dumps(ld)}</script></head></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=48)
    parser.add_argument("--latency", type=float, default=0.3)
    args = parser.parse_args()
    server, base = serve(args.latency)
    print(f"{args.videos} videos, {args.latency:.2f} s server latency, {os.cpu_count()} cores (shared machine)")
    print(f"{'concurrency':>12}{'seconds':>10}{'videos/s':>10}{'ratio':>8}")
    first = None
    with tempfile.TemporaryDirectory() as tmp:
        for concurrency in (1, 4, 8):
            run = Path(tmp) / f"c{concurrency}"
            candidates = [Candidate(clip_id(f"v{concurrency}x{i:05d}", 0.0), f"v{concurrency}x{i:05d}",
                                    f"{base}/{concurrency}x{i}.html", 0.0, None, "url") for i in range(args.videos)]
            fetch = FetchConfig(cache_dir=run / "cache", timeout_s=60.0)
            started = time.perf_counter()
            screening = screen_candidates(candidates, MetadataConfig(enabled=True, concurrency=concurrency), fetch,
                                          run, progress=False)
            seconds = time.perf_counter() - started
            assert len(screening.kept) == args.videos and screening.report["probe"]["requests"] == args.videos
            first = first or args.videos / seconds
            print(f"{concurrency:>12}{seconds:>10.2f}{args.videos / seconds:>10.1f}{args.videos / seconds / first:>8.2f}")
        (run / "probes.parquet").unlink()  # the run's frozen file gone: the shared cache still answers
        started = time.perf_counter()
        screening = screen_candidates(candidates, MetadataConfig(enabled=True), fetch, run, progress=False)
        seconds = time.perf_counter() - started
        assert screening.report["probe"]["cached"] == args.videos
        print(f"{'cached':>12}{seconds:>10.2f}{args.videos / seconds:>10.1f}{args.videos / seconds / first:>8.2f}")
    server.shutdown()


if __name__ == "__main__":
    main()
