"""`acav1m review sample | serve | report`: argparse front ends over human review."""

from __future__ import annotations

import argparse

from curation.review.sample import QUESTIONS, STRATA


def add_review(subparsers: argparse._SubParsersAction) -> None:
    review = subparsers.add_parser(
        "review", help="human review: sample clips, rate them in a local page, report precision and agreement",
        description="ACAV100M-style human evaluation of a curated collection: `sample` writes a review directory, "
        "`serve` collects votes from named raters, `report` computes majority-vote precision per stratum.")
    actions = review.add_subparsers(dest="review_command", required=True, metavar="ACTION")

    sample = actions.add_parser("sample", help="write a stratified sample of clips with their media",
                                description="Strata: kept/rejected x category x score band (quantiles).")
    sample.add_argument("dataset", help="a built dataset directory or a run's records.parquet")
    sample.add_argument("--out", required=True, help="review directory to create (never overwritten)")
    sample.add_argument("--media", action="append", default=[], metavar="PATH",
                        help="WebDataset .tar shards ({clip_id}.mp4 members), a media Parquet, or a folder of "
                        "either or of {clip_id}.mp4 files (repeatable); the dataset's own `media` config and "
                        "local source videos are used too")
    sample.add_argument("--source-dir", action="append", default=[], metavar="DIR",
                        help="a folder the run read local videos from (repeatable; a run's own config.yaml is read "
                        "when DATASET is its records.parquet)")
    sample.add_argument("--per-stratum", type=int, default=10, help="clips per stratum (default 10)")
    sample.add_argument("--strata", default=",".join(STRATA), help=f"comma-separated subset of {','.join(STRATA)}")
    sample.add_argument("--score", default="sim_av_instance", help="score column whose quantile bands stratify")
    sample.add_argument("--bands", type=int, default=3, help="number of score bands (default 3)")
    sample.add_argument("--questions", default="correspondence",
                        help=f"comma-separated questions among {','.join(QUESTIONS)} (default correspondence)")
    sample.add_argument("--votes", type=int, default=3, help="votes wanted per clip and question (default 3)")
    sample.add_argument("--seed", type=int, default=0)
    sample.set_defaults(run=run_sample)

    serve = actions.add_parser("serve", help="serve the rating page on 127.0.0.1")
    serve.add_argument("review_dir")
    serve.add_argument("--port", type=int, default=8765)
    serve.set_defaults(run=run_serve)

    report = actions.add_parser("report", help="write report.md, report.json and report.png from the votes")
    report.add_argument("review_dir")
    report.add_argument("--no-figure", action="store_true", help="skip report.png (no matplotlib needed)")
    report.add_argument("--card", action="store_true",
                        help="also write card_section.md + images/human_review.png to paste into a dataset card")
    report.set_defaults(run=run_report)
    for action in (sample, serve, report):
        action.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                            help="show the traceback of an error")


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def run_sample(args: argparse.Namespace) -> int:
    from curation.review.sample import SampleSpec, sample_review

    spec = SampleSpec(per_stratum=args.per_stratum, strata=_names(args.strata), score_column=args.score,
                      bands=args.bands, questions=_names(args.questions), votes_per_clip=args.votes, seed=args.seed)
    manifest = sample_review(args.dataset, args.out, spec, tuple(args.media), tuple(args.source_dir))
    print(f"{len(manifest.clips)} clips in {len(manifest.population)} strata, {len(manifest.items())} items to rate "
          f"x {spec.votes_per_clip} votes -> {args.out}")
    for stratum, population in manifest.population.items():
        taken = sum(c.stratum == stratum for c in manifest.clips)
        print(f"  {stratum}: {taken} of {population} (without media: {manifest.without_media.get(stratum, 0)})")
    print(f"next: acav1m review serve {args.out}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from curation.review.server import make_review_server

    server = make_review_server(args.review_dir, args.port)
    print(f"rating page: http://127.0.0.1:{server.server_port}/  (Ctrl-C to stop; votes are saved as they come)")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def run_report(args: argparse.Namespace) -> int:
    from curation.review.report import to_markdown, write_report

    summary = write_report(args.review_dir, figure=not args.no_figure, card=args.card)
    print(to_markdown(summary))
    return 0
