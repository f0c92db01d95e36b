"""`acav1m curate | demo | select`: argparse front ends over the curation pipeline."""

from __future__ import annotations

import argparse
import sys

FILTER_PRESETS = {
    "acav1m": ["filter.mode=paper-tuned"],  # ACAV-1M Table 22: 0.6 language / 0.5 instance / 0.7 temporal
    "acav1m-uniform": ["filter.mode=paper-uniform"],  # ACAV-1M Algorithm 1: 0.5 everywhere
    # AVSET-10M stages 2-4: the instance score calibrated on mismatched pairs (or filter.instance_cosine=0.2564)
    "avset": ["filter.mode=avset", "voiceover.enabled=true"],
    "acav1m+avset": ["filter.mode=paper-tuned", "voiceover.enabled=true"],
    # ACAV100M §3.1: metadata filters before any download (curation/metadata/filters.py says how each maps)
    "acav100m": ["metadata.enabled=true", "metadata.min_duration_s=30", "metadata.max_duration_s=600",
                 "metadata.exclude_live=true", "metadata.exclude_categories=[Gaming, Film & Animation, Music]",
                 "metadata.default_keywords=true", "metadata.language_share=0.9"],
}


def add_curate(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "curate",
        help="run the curation pipeline (fetch, segment, decode, caption, embed, score, categorise, filter)",
        description="Writes records.parquet (the `candidates` config), embeddings.parquet, errors.parquet, "
        "run.json, stats.json and config.yaml into the output directory. Reruns resume.",
    )
    parser.add_argument("--config", help="YAML config (see README); every key can be overridden with --set")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set filter.mode=paper-uniform (repeatable)")
    parser.add_argument("--output", help="output directory (same as --set output=...)")
    parser.add_argument("--filters", choices=sorted(FILTER_PRESETS), help="filter preset: " + "; ".join(
        f"{name} = {' '.join(sets)}" for name, sets in FILTER_PRESETS.items()))
    parser.add_argument("--no-redo", action="store_true", help="refuse (naming what changed) instead of redoing "
                        "finished tasks whose inputs or settings changed (same as --set executor.redo_changed=false)")
    parser.add_argument("--overwrite", action="store_true",
                        help="write into an output folder that holds files acav1m did not write (nothing is deleted)")
    parser.set_defaults(run=run_curate)


def run_curate(args: argparse.Namespace) -> int:
    from curation.config import load_config
    from curation.pipeline import curate

    preset = FILTER_PRESETS[args.filters] if args.filters else []
    overrides = preset + list(args.overrides) + ([f"output={args.output}"] if args.output else [])
    overrides += ["executor.redo_changed=false"] if args.no_redo else []
    result = curate(load_config(args.config, overrides), overwrite=args.overwrite)
    _report(result)
    if result.kept == 0:
        raise ValueError(result.nothing_kept_message())
    out = result.output
    media = f" --media {out / 'media.parquet'}" if (out / "media.parquet").exists() else ""
    print(f"records: {out / 'records.parquet'}\npublish with: acav1m build {out / 'records.parquet'} OUT "
          f"--run-summary {out / 'run.json'} --embeddings {out / 'embeddings.parquet'}{media}")
    return 0


def _report(result) -> None:
    print(result.retention_table())
    avset = result.summary.extra.get("avset_retention")
    if avset:
        print("\nAVSET-10M retention (Table 2 form):\n" + avset["markdown"])
    metadata = result.summary.extra.get("metadata")
    if metadata:
        kept = metadata["kept_languages"]
        rejected = ", ".join(f"{name} {n}" for name, n in metadata["rejected_videos"].items()) or "none"
        print(f"metadata: {metadata['probe']['videos']} source videos probed ({metadata['probe']['failed']} failed); "
              f"rejected per filter: {rejected}; languages kept: {', '.join(kept) if kept is not None else 'all'}")
    captions = result.summary.models.get("captions")
    print(f"captions: {captions}" if captions else
          "captions: no captioner configured, caption columns left empty (README: 'Models, and where they come from')")
    for key, count in sorted(result.reasons.items()):
        print(f"  failed {key}: {count}")
    if result.summary.random_weights:
        print("WARNING: scores come from random-weight models (plumbing only, not quality).", file=sys.stderr)
    for name, why in result.summary.skipped_filters.items():
        print(f"note: {name} filter skipped: {why}")


def add_demo(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="generate a synthetic corpus, serve part of it locally, curate, build and validate (offline)",
    )
    parser.add_argument("--out", default="out/demo", help="where the corpus, run and dataset go")
    parser.add_argument("--per-variant", type=int, default=2, help="clips per variant per source (6 variants, 2 sources)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--overwrite", action="store_true",
                        help="write into an --out folder that holds files acav1m did not write (nothing is deleted)")
    parser.set_defaults(run=run_demo_command)


def run_demo_command(args: argparse.Namespace) -> int:
    from curation.demo import run_demo

    result, dataset = run_demo(args.out, args.per_variant, overrides=tuple(args.overrides), overwrite=args.overwrite)
    _report(result)
    print("demo: the embedded ImageBind is the genuine architecture at a tiny size with random weights, so its "
          "thresholds are off; the model-free sync check decides (synced clips pass; late, early, mismatched, "
          "silent and static ones do not).")
    print(f"dataset: {dataset} (validated: card, Parquet, streaming, Croissant)")
    print(f"load it: cd {dataset.parent} && {sys.executable} -c \"import datasets; "
          f"print(next(iter(datasets.load_dataset('acav1m', streaming=True, split='train'))))\"")
    return 0




def add_select(subparsers: argparse._SubParsersAction) -> None:
    from curation.selection.cli import DESCRIPTION, add_arguments, run

    parser = subparsers.add_parser("select", help="ACAV100M subset selection: clustering-based audio-visual MI, "
                                   "batch greedy", description=DESCRIPTION)
    add_arguments(parser)
    parser.set_defaults(run=run)
