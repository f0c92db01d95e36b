"""The local and the Ray executor side by side: one corpus, one run, the same outputs.

    python benchmarks/bench_executors.py --clips 200

Generated mp4 files (60 distinct ones, linked under distinct names) curated with the tiny ImageBind
(genuine architecture, random weights) by: local with 1 worker, local with 2 workers, and Ray (a private
local Ray started by the run: its start-up and shutdown are inside the time). Each run is a fresh
subprocess; the figures are clips/s, the driver's peak RSS, and the peak of the summed RSS of the driver
and every process under it (workers, Ray's raylet, GCS and actors), sampled every 0.2 s. The outputs of
every run are checked byte-equal to the first.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
COMPARED = ("records.parquet", "embeddings.parquet", "errors.parquet", "stats.json")

RUN = """
import json, resource, time
from curation.config import load_config
from curation.pipeline import curate
config = load_config(None, {overrides!r})
start = time.perf_counter()
result = curate(config, progress=False)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": elapsed, "clips": result.counts["score"].outputs, "driver_mib": peak}}))
"""


def _tree_rss_mib(pid: int) -> float:
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def run(overrides: list[str]) -> dict:
    process = subprocess.Popen([sys.executable, "-c", RUN.format(overrides=overrides)], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, _tree_rss_mib(process.pid))
        time.sleep(0.2)
    out, err = process.communicate()
    if process.returncode:
        raise RuntimeError(err[-3000:])
    return {**json.loads(out.strip().splitlines()[-1]), "total_mib": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--clips-per-task", type=int, default=16)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from curation.media.synthetic import make_corpus

    with tempfile.TemporaryDirectory(prefix="acav1m-bench-executors-") as tmp:
        corpus = Path(tmp) / "corpus"
        originals = sorted(s.path for s in make_corpus(corpus / ".originals", 10, seed=0))
        for i in range(args.clips):
            (corpus / f"clip_{i:05d}.mp4").symlink_to(originals[i % len(originals)])
        common = [f"sources.directories=[{corpus}]", "embed.variant=tiny", "segment.mode=fixed", "filter.mode=none",
                  f"executor.clips_per_task={args.clips_per_task}"]
        runs = {"local, 1 worker": ["executor.workers=1"], "local, 2 workers": ["executor.workers=2"],
                "ray (private local Ray)": ["executor.backend=ray", "executor.workers=1"]}
        load = os.getloadavg()[0]
        print(f"# {args.clips} clips, tiny ImageBind (random weights), {os.cpu_count()} cores, "
              f"load average {load:.1f} at start{' (machine shared with other jobs)' if load > 1.5 else ''}")
        print("| executor | clips | seconds | clips/s | driver peak RSS MiB | total peak RSS MiB |")
        print("|---|---|---|---|---|---|")
        figures, first = {}, None
        for name, extra in runs.items():
            out = Path(tmp) / name.split()[0] / name.replace(" ", "_").replace(",", "")
            r = run([f"output={out}", *common, *extra])
            figures[name] = r["clips"] / r["seconds"]
            print(f"| {name} | {r['clips']} | {r['seconds']:.1f} | {figures[name]:.2f} | {r['driver_mib']:.0f} "
                  f"| {r['total_mib']:.0f} |", flush=True)
            first = first or out
            for file in COMPARED:
                if (out / file).read_bytes() != (first / file).read_bytes():
                    raise AssertionError(f"{name}: {file} differs from the first run's")
        best_local = max(v for k, v in figures.items() if k.startswith("local"))
        ray = figures["ray (private local Ray)"]
        print(f"\nray / best local throughput: {ray / best_local:.2f}x (target >= 0.7x); "
              f"outputs byte-identical across all runs: {', '.join(COMPARED)}")
        print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
