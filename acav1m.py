"""acav1m: curate, package and publish audio-visual datasets (ACAV-1M, AVSET-10M, ACAV100M).

Public entry points:
- `ACAV1M`: a `datasets.GeneratorBasedBuilder` over a published (script-free) dataset, local or `hf://`;
- `load(...)`: `datasets.load_dataset` on a built directory or Hub repo, streaming by default;
- `main(...)`: the `acav1m` command line.

The Hub repo itself never contains this file: `datasets` 5 no longer runs loading scripts.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import datasets
import fsspec
import pyarrow.parquet as pq

from builder.schema import CONFIGS, SPLITS

__version__ = "0.1.0"
log = logging.getLogger("acav1m")


@dataclass
class ACAV1MConfig(datasets.BuilderConfig):
    """`source`: a built dataset directory or `hf://datasets/<org>/<name>[@<revision>]`."""

    source: str = "hf://datasets/acav1m/acav1m"


class ACAV1M(datasets.GeneratorBasedBuilder):
    """Reads the published Parquet of one config; usable directly since `load_dataset(Class)` is not."""

    BUILDER_CONFIG_CLASS = ACAV1MConfig
    BUILDER_CONFIGS = [ACAV1MConfig(name=name, description=schema.description) for name, schema in CONFIGS.items()]
    DEFAULT_CONFIG_NAME = "default"

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=CONFIGS[self.config.name].description,
            features=CONFIGS[self.config.name].features,
            license="cc-by-4.0",
        )

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        fs, root = fsspec.core.url_to_fs(self.config.source)
        data_dir = f"{root.rstrip('/')}/{CONFIGS[self.config.name].data_dir}"
        generators = []
        for split in SPLITS:
            files = sorted(fs.glob(f"{data_dir}/{split}-*.parquet"))
            if files:
                generators.append(datasets.SplitGenerator(name=split, gen_kwargs={"fs": fs, "files": files}))
        if not generators:
            raise FileNotFoundError(f"no Parquet shards for config '{self.config.name}' under {self.config.source}")
        return generators

    def _generate_examples(self, fs: Any, files: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        for path in files:
            with fs.open(path, "rb") as handle:
                for batch in pq.ParquetFile(handle).iter_batches(batch_size=1024):
                    for row in batch.to_pylist():
                        yield row["clip_id"], row


def load(
    path: str = "acav1m",
    name: str = "default",
    split: str | None = None,
    streaming: bool = True,
    **kwargs: Any,
) -> Any:
    """`datasets.load_dataset` on a built directory or `<org>/<name>` repo, streaming unless told otherwise."""
    if "trust_remote_code" in kwargs:
        raise ValueError("acav1m datasets are script-free; trust_remote_code is never needed")
    return datasets.load_dataset(path, name, split=split, streaming=streaming, **kwargs)


# subcommand -> "module:function" taking (subparsers) and registering itself; imported lazily so that
# `acav1m --help` and `acav1m build` never import torch.
COMMANDS = {
    "build": "builder.commands:add_build",
    "validate": "builder.commands:add_validate",
    "push": "builder.commands:add_push",
    "sample-records": "builder.commands:add_sample_records",
    "curate": "curation.commands:add_curate",
    "demo": "curation.commands:add_demo",
    "select": "curation.commands:add_select",
    "download": "curation.download.commands:add_download",
    "availability": "curation.download.commands:add_availability",
    "env": "curation.env:add_env",
    "review": "curation.review.commands:add_review",
}


def _verbose_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log progress details; show the traceback of an error")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acav1m",
        description="Curate audio-visual clips (captions, ImageBind alignment, categories) and publish them as a "
        "streaming Hugging Face dataset with a card and Croissant metadata.",
    )
    parser.add_argument("--version", action="version", version=f"acav1m {__version__}")
    _verbose_flag(parser)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for target in COMMANDS.values():
        module, function = target.split(":")
        getattr(importlib.import_module(module), function)(subparsers)
    for sub in subparsers.choices.values():  # `-v` is accepted after the subcommand too
        if not any("--verbose" in action.option_strings for action in sub._actions):
            _verbose_flag(sub)
    return parser


def describe_error(error: BaseException) -> str:
    """One line a user can act on: the message, or the exception's type when it has none."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, FileNotFoundError) and error.filename and str(error.filename) not in text:
        text = f"{text}: {error.filename}"
    return text


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print(f"acav1m {args.command}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except Exception as error:  # every failure a user can cause: one line, the traceback only with -v
        if verbose:
            import traceback

            traceback.print_exc()
        print(f"acav1m {args.command}: error: {describe_error(error)}", file=sys.stderr)
        return 2


__all__ = ["ACAV1M", "ACAV1MConfig", "build_parser", "load", "main"]

if __name__ == "__main__":
    sys.exit(main())

