"""Build throughput and memory, and streaming read speed vs a raw pyarrow loop.

    python benchmarks/bench_build.py --rows 1000000 5000000

Each build runs in a fresh subprocess so its peak RSS is its own. Inputs are generated candidate
records with realistic caption lengths (15-30 words x 3 captions), written in a streaming fashion.
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


def _child(code: str) -> dict:
    """Run `code` in a fresh interpreter; it prints one JSON line (with its own peak RSS where measured)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise RuntimeError(f"benchmark child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


GENERATE = """
import json, pyarrow.parquet as pq
from builder.sample import sample_batches
from builder.schema import CONFIGS
writer = pq.ParquetWriter({path!r}, CONFIGS["candidates"].arrow_schema, compression="zstd")
for table in sample_batches({rows}, seed=0):
    writer.write_table(table)
writer.close()
print(json.dumps({{}}))
"""

BUILD = """
import json, resource, time
from builder.build import build_dataset
start = time.perf_counter()
result = build_dataset({out!r}, {path!r})
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": elapsed, "rows": result.stats["candidates"].num_rows, "peak_rss_mib": peak}}))
"""

READ = """
import json, time, pyarrow.parquet as pq, datasets
from pathlib import Path
files = sorted(Path({out!r}, "data", "candidates").glob("train-*.parquet"))
start = time.perf_counter(); n = 0
for f in files:
    for batch in pq.ParquetFile(f).iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            n += 1
raw = time.perf_counter() - start
start = time.perf_counter(); m = 0
for row in datasets.load_dataset({out!r}, "candidates", split="train", streaming=True):
    m += 1
streamed = time.perf_counter() - start
start = time.perf_counter(); k = 0
dataset = datasets.load_dataset({out!r}, "candidates", split="train", streaming=True)
for batch in dataset.iter(batch_size=1024):
    k += len(batch["clip_id"])
batched = time.perf_counter() - start
assert n == m == k, (n, m, k)
print(json.dumps({{"rows": n, "raw_rows_per_s": n / raw, "datasets_rows_per_s": m / streamed,
                  "datasets_batched_rows_per_s": k / batched}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--read-rows", type=int, default=200_000, help="rows for the streaming comparison")
    args = parser.parse_args()
    env_note = f"cores={os.cpu_count()}"
    print(f"# build benchmark ({env_note})")
    print("| rows | build s | rows/s | peak RSS MiB |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="acav1m-bench-") as tmp:
        for rows in args.rows:
            path = os.path.join(tmp, f"records-{rows}.parquet")
            _child(GENERATE.format(rows=rows, path=path))
            out = os.path.join(tmp, f"build-{rows}", "acav1m")
            result = _child(BUILD.format(out=out, path=path))
            print(f"| {rows:,} | {result['seconds']:.1f} | {rows / result['seconds']:,.0f} | {result['peak_rss_mib']:.0f} |")
        path = os.path.join(tmp, "records-read.parquet")
        _child(GENERATE.format(rows=args.read_rows, path=path))
        out = os.path.join(tmp, "build-read", "acav1m")
        _child(BUILD.format(out=out, path=path))
        read = _child(READ.format(out=out))
        ratio = read["datasets_rows_per_s"] / read["raw_rows_per_s"]
        print()
        print("| reader | rows/s (train split of candidates) |")
        print("|---|---|")
        print(f"| pyarrow iter_batches + to_pylist | {read['raw_rows_per_s']:,.0f} |")
        print(f"| load_dataset(dir, streaming=True), row by row | {read['datasets_rows_per_s']:,.0f} |")
        print(f"| load_dataset(dir, streaming=True).iter(batch_size=1024) | {read['datasets_batched_rows_per_s']:,.0f} |")
        print(f"| ratio datasets row loop / raw row loop | {ratio:.2f} |")


if __name__ == "__main__":
    main()
