"""Which rows to download: a published build (local folder or Hub repo), a records Parquet or a clip list,
narrowed by config, split, ``--filter`` expressions and ``--limit``.

Data files of a build are found through its card's ``configs`` (what ``load_dataset`` reads), falling back
to the declared layout in builder/schema.py, so the command follows the layout of whichever release it reads.
"""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from builder.build import split_of
from builder.schema import CONFIGS, SPLITS
from curation.sources import Candidate, InvalidRow, read_clip_list

REQUIRED = ("clip_id", "video_id", "url", "start_time", "end_time")
REPO_ID_RE = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?")
_FILTER_RE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<|=)\s*(.+?)\s*")
_OPS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "=": operator.eq, "!=": operator.ne,
        ">": operator.gt, "<": operator.lt}
BATCH_ROWS = 10_000


@dataclass(frozen=True)
class Selection:
    """What to download; saved with the run so a rerun can tell it is the same job."""

    dataset: str
    config: str = "default"
    splits: tuple[str, ...] = SPLITS
    filters: tuple[str, ...] = ()
    limit: int | None = None
    test_fraction: float = 0.1  # records and clip lists: the split `acav1m build` would assign

    def __post_init__(self) -> None:
        if self.config not in CONFIGS or self.config in ("embeddings", "media"):
            raise ValueError(f"--config {self.config!r}: choose one of default, candidates")
        unknown = set(self.splits) - set(SPLITS)
        if unknown:
            raise ValueError(f"--split {sorted(unknown)}: choose from {', '.join(SPLITS)}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit {self.limit}: must be at least 1")
        for text in self.filters:
            parse_filter(text)


def parse_filter(text: str) -> tuple[str, str, str]:
    """``"sim_av_instance>=0.3"`` -> (column, operator, value text)."""
    match = _FILTER_RE.fullmatch(text)
    if not match or match.group(3)[0] in "<>=!":
        raise ValueError(f"--filter {text!r}: expected COLUMN OP VALUE with OP one of >= <= == != > <")
    column, op, raw = match.groups()
    return column, op, raw.strip("'\"")


def filter_expression(filters: Sequence[str], schema: pa.Schema, where: str) -> pc.Expression | None:
    """The AND of the filters, each value read as its column's type (number, true/false, or text)."""
    expression = None
    for text in filters:
        column, op, raw = parse_filter(text)
        if column not in schema.names:
            raise ValueError(f"--filter {text!r}: {where} has no column {column!r}; it has {', '.join(schema.names)}")
        kind = schema.field(column).type
        value: object = raw
        if pa.types.is_boolean(kind):
            if raw.lower() not in ("true", "false"):
                raise ValueError(f"--filter {text!r}: {column} is true/false, not {raw!r}")
            value = raw.lower() == "true"
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"--filter {text!r}: {column} is a number, {raw!r} is not") from None
        term = _OPS[op](pc.field(column), pc.scalar(value))
        expression = term if expression is None else expression & term
    return expression


def selected_tables(selection: Selection) -> Iterator[pa.Table]:
    """The selected rows, with a ``split`` column, in a fixed order (split, file, row); at most ``limit``."""
    remaining = selection.limit
    expression = None
    checked = False
    for where, table in _source_tables(selection):
        if not checked:
            missing = [c for c in REQUIRED if c not in table.schema.names]
            if missing:
                raise ValueError(f"{where}: missing column(s) {missing}; a download needs {', '.join(REQUIRED)}")
            expression = filter_expression(selection.filters, table.schema, where)
            checked = True
        if expression is not None:
            table = table.filter(expression)
        table = table.filter(pc.is_in(table.column("split"), pa.array(selection.splits)))
        if remaining is not None:
            table = table.slice(0, remaining)
            remaining -= table.num_rows
        if table.num_rows:
            yield table
        if remaining == 0:
            return


def _source_tables(selection: Selection) -> Iterator[tuple[str, pa.Table]]:
    path = Path(selection.dataset)
    if path.is_dir():
        yield from _build_tables(*fsspec.core.url_to_fs(str(path.resolve())), selection)
    elif path.is_file():
        yield from _file_tables(path, selection.test_fraction)
    elif REPO_ID_RE.fullmatch(selection.dataset):
        yield from _build_tables(*fsspec.core.url_to_fs(f"hf://datasets/{selection.dataset}"), selection)
    else:
        raise FileNotFoundError(f"{selection.dataset}: no such folder or file, and not a Hub repo id (org/name)")


def _build_tables(fs: fsspec.AbstractFileSystem, root: str, selection: Selection) -> Iterator[tuple[str, pa.Table]]:
    patterns = _card_data_files(fs, root, selection.config)
    for split in selection.splits:
        split_patterns = patterns.get(split) if patterns else None
        if split_patterns is None:
            split_patterns = [f"{CONFIGS[selection.config].data_dir}/{split}-*.parquet"]
        files = sorted({f for pattern in split_patterns for f in fs.glob(f"{root.rstrip('/')}/{pattern}")})
        for file in files:
            with fs.open(file, "rb") as handle:
                for batch in pq.ParquetFile(handle).iter_batches(batch_size=BATCH_ROWS):
                    table = pa.Table.from_batches([batch])
                    yield file, table.append_column("split", pa.array([split] * table.num_rows, pa.string()))
    if patterns is None and not fs.exists(f"{root.rstrip('/')}/{CONFIGS[selection.config].data_dir}"):
        raise FileNotFoundError(f"{selection.dataset}: no card configs and no {CONFIGS[selection.config].data_dir}/")


def _card_data_files(fs: fsspec.AbstractFileSystem, root: str, config: str) -> dict[str, list[str]] | None:
    """split -> path patterns of ``config`` from the card's YAML; None when the card has no configs."""
    from huggingface_hub import DatasetCard

    card_path = f"{root.rstrip('/')}/README.md"
    if not fs.exists(card_path):
        return None
    with fs.open(card_path, "r", encoding="utf-8") as handle:
        configs = DatasetCard(handle.read()).data.to_dict().get("configs")
    if not configs:
        return None
    entry = next((c for c in configs if c.get("config_name") == config), None)
    if entry is None:
        names = ", ".join(str(c.get("config_name")) for c in configs)
        raise ValueError(f"config {config!r} is not in the dataset card (configs: {names})")
    files = entry.get("data_files") or []
    out: dict[str, list[str]] = {}
    for item in files if isinstance(files, list) else [files]:
        if isinstance(item, dict):
            paths = item["path"] if isinstance(item["path"], list) else [item["path"]]
            out.setdefault(item.get("split", "train"), []).extend(paths)
    return out


def _file_tables(path: Path, test_fraction: float) -> Iterator[tuple[str, pa.Table]]:
    """A records Parquet (curation output or any table with the required columns) or a clip list."""
    if path.suffix == ".parquet":
        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
            table = pa.Table.from_batches([batch])
            if "video_id" not in table.schema.names:
                raise ValueError(f"{path}: missing column 'video_id'; a download needs {', '.join(REQUIRED)}")
            splits = [split_of(v, test_fraction) for v in table.column("video_id").to_pylist()]
            yield str(path), table.append_column("split", pa.array(splits, pa.string()))
        return
    rows = []
    for item in read_clip_list(path):
        if isinstance(item, InvalidRow):
            if item.reason == "duplicate":
                continue
            raise ValueError(f"{item.path}:{item.line_no}: {item.reason}: {item.detail or item.raw}")
        rows.append(_candidate_row(item, test_fraction))
    if rows:
        yield str(path), pa.Table.from_pylist(rows)


def _candidate_row(candidate: Candidate, test_fraction: float) -> dict[str, object]:
    return {"clip_id": candidate.clip_id, "video_id": candidate.video_id, "url": candidate.url,
            "start_time": candidate.start_time, "end_time": candidate.end_time, "source": candidate.source,
            "license": candidate.license, "split": split_of(candidate.video_id, test_fraction)}


def as_candidate(row: dict[str, object]) -> Candidate:
    """A selected row as what fetch() takes; rows without ``source`` are YouTube rows if the URL says so."""
    url = str(row["url"])
    source = str(row.get("source") or ("youtube" if "youtube.com/watch" in url else "url"))
    return Candidate(str(row["clip_id"]), str(row["video_id"]), url, float(row["start_time"]),  # type: ignore[arg-type]
                     float(row["end_time"]), source, str(row.get("license") or "unknown"))  # type: ignore[arg-type]


def path_of(dataset: str) -> str:
    """How the dataset is recorded in the run file: absolute for local paths, as given for repo ids."""
    return str(Path(dataset).resolve()) if os.path.exists(dataset) else dataset
