"""``acav1m select``: choose the clips with the strongest audio-visual correspondence."""

from __future__ import annotations

import argparse

from curation.selection.kmeans import INITS
from curation.selection.mutual_info import PAIRINGS
from curation.selection.stage import (
    ACCEPTED_TABLES,
    CLIPS_PER_CELL,
    KMEANS_SAMPLES,
    MAX_CLUSTERS,
    MAX_EPOCHS,
    PRESETS,
    SelectionConfig,
    diversity_path,
    preset_config,
    select_parquet,
)

DESCRIPTION = (
    "Cluster per-layer audio and visual features and greedily select the subset with the largest audio-visual "
    f"mutual information (ACAV100M). INPUT is a Parquet file or directory with a clip_id column and {ACCEPTED_TABLES}."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="acav1m select", description=DESCRIPTION)
    add_arguments(parser)
    return parser


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Tuning flags default to SUPPRESS, so only those given override the preset (or the defaults)."""
    d = SelectionConfig(target_size=0)
    p.add_argument(
        "input",
        help="a curation run folder (its features.parquet, else embeddings.parquet), or a Parquet file or "
        "directory: clip_id + audio_*/visual_* float-list feature columns, or cluster_audio_*/cluster_visual_* "
        "integer cluster-id columns",
    )
    p.add_argument("--size", type=int, required=True, help="number of clips to select (M)")
    p.add_argument("--out", required=True, help="where to write selected.parquet (clip_id, rank)")
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="acav100m-large: the paper's appendix E.2 values (k-means mini-batch 100k, 100 epochs; batch greedy "
        "b = 10,000, s = 500); flags given as well override it",
    )
    tuning = (
        ("--clusters", int, f"k per clustering (default: from --size, about {CLIPS_PER_CELL} selected clips per "
         f"k x k contingency cell, at most {MAX_CLUSTERS})"),
        ("--batch-size", int, f"batch greedy b (default {d.batch_size})"),
        ("--selection-size", int, f"batch greedy s (default {d.selection_size})"),
        ("--seed", int, f"(default {d.seed})"),
        ("--kmeans-epochs", int, f"passes over the features per k-means (default: about {KMEANS_SAMPLES:,} "
         f"samples, 1 to {MAX_EPOCHS} passes)"),
        ("--kmeans-batch-size", int, f"k-means mini-batch (default {d.kmeans_batch_size})"),
    )
    for flag, kind, text in tuning:
        p.add_argument(flag, type=kind, default=argparse.SUPPRESS, help=text)
    p.add_argument("--pairing", choices=PAIRINGS, default=argparse.SUPPRESS,
                   help=f"which clusterings are paired (default {d.pairing})")
    p.add_argument("--kmeans-init", choices=INITS, default=argparse.SUPPRESS, help=f"(default {d.kmeans_init})")
    p.add_argument("--labels-out", help="also write the per-clip cluster ids (Parquet) here")


FLAG_FIELDS = {
    "clusters": "n_clusters", "batch_size": "batch_size", "selection_size": "selection_size", "seed": "seed",
    "kmeans_epochs": "kmeans_epochs", "kmeans_batch_size": "kmeans_batch_size", "pairing": "pairing",
    "kmeans_init": "kmeans_init",
}


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    given = {field: getattr(args, flag) for flag, field in FLAG_FIELDS.items() if hasattr(args, flag)}
    config = preset_config(args.preset, args.size, **given)
    result, used = select_parquet(args.input, args.out, config, labels_out=args.labels_out)
    print(
        f"input {used['input']}: clusterings: {used['clusterings']} ({used['audio_clusterings']} audio, {used['visual_clusterings']} "
        f"visual), k = {used['clusters']} [{used['clusters_rule']}], {used['pairs']} pairs ({used['pairing']}), "
        f"k-means epochs {used['kmeans_epochs']}"
    )
    final = result.mi_trajectory[-1] if len(result.mi_trajectory) else 0.0
    print(f"selected {len(result.order)} clips -> {args.out} (mean pair MI {final:.4f})")
    print(
        f"diversity -> {diversity_path(args.out)}: cluster-histogram entropy {used['selected_entropy']:.2f} nats "
        f"selected vs {used['random_entropy']:.2f} for a random subset of the same size (mean over clusterings)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
