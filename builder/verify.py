"""Check a built dataset the way its users will read it: card, Parquet schemas, streaming, Croissant.

Also what makes a release trustworthy on the Hub: no stale files beside the published ones, a data-fields
table that covers every column, figures that exist, and a Croissant that validates in both its local and
its pushed (URL) form.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import pyarrow.parquet as pq
from huggingface_hub import DatasetCard

from builder.schema import CONFIGS
from builder.validate import SchemaError


@dataclass
class VerifyReport:
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # config -> split -> rows
    streamed: dict[str, dict[str, int]] = field(default_factory=dict)
    croissant_records: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        lines = []
        for config, splits in self.rows.items():
            for split, rows in splits.items():
                streamed = self.streamed.get(config, {}).get(split, "-")
                lines.append(f"{config}/{split}: {rows} rows in Parquet, {streamed} streamed")
        lines += [f"croissant {name}: {count} records" for name, count in self.croissant_records.items()]
        return "\n".join(lines)


def verify_dataset(directory: str | Path, stream: bool = True, croissant: bool = True) -> VerifyReport:
    """Raise SchemaError on the first disagreement between card, files, streaming and Croissant."""
    directory = Path(directory)
    card = DatasetCard.load(directory / "README.md").data
    infos = {info["config_name"]: info for info in card.dataset_info}
    _check_files(directory, card)
    report = VerifyReport()
    for config in card.configs:
        name = config["config_name"]
        if name not in CONFIGS:
            raise SchemaError(f"card declares unknown config '{name}'")
        schema = CONFIGS[name]
        if infos[name]["features"] != schema.features._to_yaml_list():
            raise SchemaError(f"card features of config '{name}' differ from the declared schema")
        expected = {s["name"]: s["num_examples"] for s in infos[name]["splits"]}
        report.rows[name] = {}
        for data_file in config["data_files"]:
            split = data_file["split"]
            files = sorted(directory.glob(data_file["path"]))
            if not files:
                raise SchemaError(f"config '{name}' split '{split}': no files match {data_file['path']}")
            rows = 0
            for file in files:
                file_schema = pq.read_schema(file)
                if not file_schema.equals(schema.arrow_schema, check_metadata=False):
                    raise SchemaError(f"{file}: Parquet schema differs from config '{name}'")
                rows += pq.ParquetFile(file).metadata.num_rows
            if rows != expected.get(split):
                raise SchemaError(f"config '{name}' split '{split}': {rows} rows in files, card says {expected.get(split)}")
            report.rows[name][split] = rows
        if stream:
            report.streamed[name] = _stream_counts(directory, name, list(report.rows[name]))
            if report.streamed[name] != report.rows[name]:
                raise SchemaError(f"config '{name}': streaming yields {report.streamed[name]}, files hold {report.rows[name]}")
    _check_card_body(directory, DatasetCard.load(directory / "README.md").text, card)
    if croissant:
        report.croissant_records = _croissant_counts(directory / "croissant.json", report.rows)
        _check_hub_croissant(directory)
    return report


def card_field_rows(text: str) -> set[str]:
    """Field names listed in the card's `## Data fields` tables."""
    section = text.split("## Data fields", 1)[-1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE))


def _check_card_body(directory: Path, body: str, card) -> None:
    listed = card_field_rows(body)
    for config in card.configs:
        missing = [c for c in CONFIGS[config["config_name"]].column_names if c not in listed]
        if missing:
            raise SchemaError(f"README.md: the data-fields table lacks {missing} of config '{config['config_name']}'")
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", body):
        if not (directory / target).is_file():
            raise SchemaError(f"README.md shows figure {target}, which is not in {directory}")


def _check_files(directory: Path, card) -> None:
    """Every published file is one the card or Croissant uses, and the build's marker lists it."""
    from builder.build import unlisted_files
    from builder.push import PUBLISHED

    patterns = [d["path"] for c in card.configs for d in c["data_files"]]
    published = sorted(p.relative_to(directory).as_posix() for pattern in PUBLISHED for p in directory.glob(pattern))
    for name in published:
        if name.startswith("data/") and not any(fnmatch.fnmatch(name, pattern) for pattern in patterns):
            raise SchemaError(f"{directory / name}: stale file, no config of the card reads it (rebuild, or delete it)")
    if (directory / "data").is_dir():
        stray = [p for p in (directory / "data").rglob("*") if p.is_file() and p.relative_to(directory).as_posix()
                 not in published]
        if stray:
            raise SchemaError(f"{stray[0]}: stale file outside the published layout data/<config>/<split>-*.parquet")
    foreign = unlisted_files(directory)
    if foreign:
        raise SchemaError(f"{directory}: files the build did not write: {foreign[:5]} (move them out, or rebuild)")


def _check_hub_croissant(directory: Path) -> None:
    """The pushed form (files by URL) must validate too; records are read from the Hub by `push` users."""
    import mlcroissant as mlc

    from croissant.metadata import hub_metadata

    metadata = hub_metadata(directory, "https://huggingface.co", "org/name", "main")
    try:
        mlc.Dataset(jsonld=metadata)
    except mlc.ValidationError as error:
        raise SchemaError(f"{directory}: the pushed form of croissant.json does not validate: {error}") from None


def _stream_counts(directory: Path, name: str, splits: list[str]) -> dict[str, int]:
    dataset = datasets.load_dataset(os.fspath(directory), name, streaming=True, columns=["clip_id"])
    return {split: sum(1 for _ in dataset[split]) for split in splits}


def _croissant_counts(path: Path, rows: dict[str, dict[str, int]]) -> dict[str, int]:
    """Validate the JSON-LD and count the records of each metadata record set (media ones are only validated)."""
    import mlcroissant as mlc

    try:
        dataset = mlc.Dataset(jsonld=os.fspath(path))
    except mlc.ValidationError as error:
        raise SchemaError(f"{path}: Croissant validation failed: {error}") from None
    counts = {}
    for name, splits in rows.items():
        if name == "media":
            continue
        counts[name] = sum(1 for _ in dataset.records(name))
        if counts[name] != sum(splits.values()):
            raise SchemaError(f"{path}: record set '{name}' yields {counts[name]} records, files hold {sum(splits.values())}")
    return counts
