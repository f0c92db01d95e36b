"""``acav1m select``: choose the clips with the strongest audio-visual correspondence."""

from __future__ import annotations

import argparse

from curation.selection.kmeans import INITS
from curation.selection.mutual_info import PAIRINGS
from curation.selection.stage import ACCEPTED_TABLES, CLIPS_PER_CELL, MAX_CLUSTERS, SelectionConfig, diversity_path, select_parquet

DESCRIPTION = (
    "Cluster per-layer audio and visual features and greedily select the subset with the largest audio-visual "
    f"mutual information (ACAV100M). INPUT is a Parquet file or directory with a clip_id column and {ACCEPTED_TABLES}."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="acav1m select", description=DESCRIPTION)
    add_arguments(parser)
    return parser


def add_arguments(p: argparse.ArgumentParser) -> None:
    defaults = SelectionConfig(target_size=0)
    p.add_argument(
        "input",
        help="Parquet file or directory: clip_id + audio_*/visual_* float-list feature columns, "
        "or cluster_audio_*/cluster_visual_* integer cluster-id columns",
    )
    p.add_argument("--size", type=int, required=True, help="number of clips to select (M)")
    p.add_argument("--out", required=True, help="where to write selected.parquet (clip_id, rank)")
    p.add_argument(
        "--clusters",
        type=int,
        default=defaults.n_clusters,
        help=f"k per clustering (default: from --size, about {CLIPS_PER_CELL} selected clips per k x k "
        f"contingency cell, at most {MAX_CLUSTERS})",
    )
    p.add_argument("--batch-size", type=int, default=defaults.batch_size, help="batch greedy b")
    p.add_argument("--selection-size", type=int, default=defaults.selection_size, help="batch greedy s")
    p.add_argument("--pairing", choices=PAIRINGS, default=defaults.pairing, help="which clusterings are paired")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--kmeans-epochs", type=int, default=defaults.kmeans_epochs)
    p.add_argument("--kmeans-init", choices=INITS, default=defaults.kmeans_init)
    p.add_argument("--labels-out", help="also write the per-clip cluster ids (Parquet) here")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    config = SelectionConfig(
        target_size=args.size,
        n_clusters=args.clusters,
        batch_size=args.batch_size,
        selection_size=args.selection_size,
        pairing=args.pairing,
        seed=args.seed,
        kmeans_epochs=args.kmeans_epochs,
        kmeans_init=args.kmeans_init,
    )
    result, used = select_parquet(args.input, args.out, config, labels_out=args.labels_out)
    print(
        f"clusterings: {used['clusterings']} ({used['audio_clusterings']} audio, {used['visual_clusterings']} "
        f"visual), k = {used['clusters']} [{used['clusters_rule']}], {used['pairs']} pairs ({used['pairing']})"
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
