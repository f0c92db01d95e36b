"""End-to-end curation throughput and memory on the synthetic corpus with the tiny embedder.

    python benchmarks/bench_pipeline.py --clips 100 1000

60 distinct generated mp4 files (in a hidden subfolder, which the folder scan skips) are linked N times
inside the scanned folder: distinct names, so distinct candidates; decoding cost is that of real files. Each run is a fresh subprocess reporting its own
peak RSS, so the figures show whether memory stays flat as the corpus grows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUN = """
import json, resource, time
from curation.config import load_config
from curation.pipeline import curate
config = load_config(None, [{overrides}])
start = time.perf_counter()
result = curate(config, progress=False)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": elapsed, "clips": result.counts["score"].outputs, "peak_rss_mib": peak}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from curation.media.synthetic import make_corpus

    with tempfile.TemporaryDirectory(prefix="acav1m-bench-pipeline-") as tmp:
        shared = Path(tmp) / "corpus" / ".originals"
        originals = sorted(s.path for s in make_corpus(shared, 10, seed=0))
        print(f"# end-to-end curate, tiny ImageBind (random weights), workers={args.workers}, cores={os.cpu_count()}")
        print("| clips | seconds | clips/s | peak RSS MiB |")
        print("|---|---|---|---|")
        for n in args.clips:
            corpus = Path(tmp) / "corpus"
            for old in corpus.glob("clip_*.mp4"):
                old.unlink()
            for i in range(n):
                (corpus / f"clip_{i:05d}.mp4").symlink_to(originals[i % len(originals)])
            overrides = [f"output={Path(tmp) / f'run-{n}'}", f"sources.directories=[{corpus}]", "embed.variant=tiny",
                         "segment.mode=fixed", "filter.mode=none", f"executor.workers={args.workers}",
                         "executor.clips_per_task=32"]
            code = RUN.format(overrides=", ".join(repr(o) for o in overrides))
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
            if out.returncode:
                raise RuntimeError(out.stderr[-3000:])
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {r['clips']} | {r['seconds']:.1f} | {r['clips'] / r['seconds']:.2f} | {r['peak_rss_mib']:.0f} |")


if __name__ == "__main__":
    main()
