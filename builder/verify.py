"""Check a built dataset the way its users will read it: card, Parquet schemas, streaming, Croissant."""

from __future__ import annotations

import os
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
    if croissant:
        report.croissant_records = _croissant_counts(directory / "croissant.json", report.rows)
    return report


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
