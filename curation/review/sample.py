"""`acav1m review sample`: a seeded, stratified sample of clips with their media, as a review directory.

Strata cross the filters' decision (kept / rejected), the category and a band of one score, so the report
can say how precise each part of the collection is, not only the whole. Within a stratum clips are ranked
by a keyed hash of (seed, clip_id): the same inputs and seed give the same sample whatever the row order.
Only clips whose media can be found are sampled; how many could not be is recorded per stratum.

The review directory holds `sample.json` (questions, votes wanted, strata, clips) and `media/`; it is
written beside its target and renamed into place, so it appears complete or not at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from builder.schema import CONFIGS
from curation.review.media import MediaIndex

MANIFEST = "sample.json"
MEDIA_DIR = "media"
STRATA = ("kept", "category", "band")
ROW_COLUMNS = ("clip_id", "kept", "category", "caption", "url", "source", "start_time", "end_time")


@dataclass(frozen=True)
class Question:
    """What raters are asked; `show_caption` puts the clip's caption beside the video."""

    id: str
    text: str
    hint: str
    show_caption: bool = False


QUESTIONS: dict[str, Question] = {
    q.id: q
    for q in (
        Question("correspondence", "Does the sound come from what you see?",
                 "Yes if what you hear is made by something visible in the clip (ACAV100M's question)."),
        Question("caption", "Does the caption correctly describe what you see and hear?",
                 "Yes if every statement in the caption is true of the clip.", show_caption=True),
    )
}


@dataclass(frozen=True)
class SampleSpec:
    """How to sample: strata, sizes, seed, questions and votes wanted per clip and question."""

    per_stratum: int = 10
    strata: tuple[str, ...] = STRATA
    score_column: str = "sim_av_instance"
    bands: int = 3
    questions: tuple[str, ...] = ("correspondence",)
    votes_per_clip: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.per_stratum < 1 or self.votes_per_clip < 1 or self.bands < 1:
            raise ValueError("--per-stratum, --votes and --bands must be at least 1")
        unknown = [s for s in self.strata if s not in STRATA] + [q for q in self.questions if q not in QUESTIONS]
        if unknown:
            raise ValueError(f"unknown strata or questions {unknown}: strata are {list(STRATA)}, "
                             f"questions {list(QUESTIONS)}")
        if not self.questions:
            raise ValueError("at least one question is needed")


@dataclass
class ReviewClip:
    """One sampled clip: what the page shows (media, caption) and what only the report sees."""

    clip_id: str
    stratum: str
    kept: bool | None
    category: str | None
    score: float | None
    caption: str | None
    video: str  # path inside the review directory, an mp4 with its sound
    start: float | None = None  # span of `video` to play when it is a whole source video
    end: float | None = None


@dataclass
class Manifest:
    source: str
    spec: SampleSpec
    band_edges: list[float]
    population: dict[str, int]  # stratum -> clips in the dataset
    without_media: dict[str, int]  # stratum -> clips that could not be sampled for want of media
    clips: list[ReviewClip] = field(default_factory=list)

    def items(self) -> list[tuple[str, str]]:
        """(clip_id, question) pairs to rate, clip by clip in sample order; caption items need a caption."""
        return [(clip.clip_id, q) for clip in self.clips for q in self.spec.questions
                if not QUESTIONS[q].show_caption or clip.caption]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True, allow_nan=False) + "\n"

    @classmethod
    def load(cls, review_dir: str | os.PathLike[str]) -> Manifest:
        path = Path(review_dir) / MANIFEST
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: create the review directory with `acav1m review sample`")
        try:
            data = json.loads(path.read_text())
            spec = SampleSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.pop("spec").items()})
            clips = [ReviewClip(**c) for c in data.pop("clips")]
            return cls(spec=spec, clips=clips, **data)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise ValueError(f"{path} is not a review sample written by `acav1m review sample` ({error})") from error


def run_source_directories(records: Path) -> list[Path]:
    """The local source folders a run read (`sources.directories` of the config.yaml beside its records)."""
    config = records.parent / "config.yaml"
    if not config.is_file():
        return []
    sources = (yaml.safe_load(config.read_text()) or {}).get("sources") or {}
    return [Path(d) for d in sources.get("directories") or []]


def read_dataset(dataset: Path, score_column: str) -> tuple[pa.Table, list[Path]]:
    """Rows of a built dataset (its `candidates`, else `default` config) or a run's records.parquet, plus
    the Parquet files that may hold their media (the `media` config, or the run's media.parquet)."""
    if dataset.is_dir():
        files: list[Path] = []
        for config in ("candidates", "default"):
            files = sorted((dataset / CONFIGS[config].data_dir).glob("*.parquet"))
            if files:
                break
        media = sorted((dataset / CONFIGS["media"].data_dir).glob("*.parquet"))
    elif dataset.suffix == ".parquet" and dataset.is_file():
        files = [dataset]
        media = [dataset.parent / "media.parquet"] if (dataset.parent / "media.parquet").is_file() else []
    else:
        raise FileNotFoundError(f"{dataset}: expected a built dataset directory or a run's records.parquet")
    if not files:
        raise FileNotFoundError(f"{dataset}: no Parquet under {CONFIGS['candidates'].data_dir} or "
                                f"{CONFIGS['default'].data_dir}; is it a built dataset?")
    tables = []
    for path in files:
        names = pq.read_schema(path).names
        if "clip_id" not in names:
            raise ValueError(f"{path}: no clip_id column; is it a records or dataset Parquet file?")
        if score_column not in names:
            raise ValueError(f"{path}: no score column '{score_column}' (choose one with --score)")
        columns = [c for c in (*ROW_COLUMNS, score_column) if c in names]
        table = pq.read_table(path, columns=columns)
        if "kept" not in names:  # the `default` config: every row was kept
            table = table.append_column("kept", pa.array([True] * table.num_rows))
        tables.append(table.select(sorted(table.column_names)))
    return pa.concat_tables(tables, promote_options="permissive"), media


def band_edges(scores: np.ndarray, bands: int) -> list[float]:
    """Inner quantile edges of the score, so each band holds about the same share of the collection."""
    finite = scores[np.isfinite(scores)]
    if bands == 1 or finite.size == 0:
        return []
    return [float(v) for v in np.quantile(finite, np.arange(1, bands) / bands)]


def rank_key(seed: int, clip_id: str) -> bytes:
    return hashlib.blake2b(f"{seed}:{clip_id}".encode(), digest_size=16).digest()


def strata_of(table: pa.Table, spec: SampleSpec) -> tuple[np.ndarray, list[str], list[float]]:
    """Each row's stratum number, the strata names (sorted) and the score band edges; column-wise, so a
    million rows take a second, not a minute."""
    n = table.num_rows
    parts: list[tuple[np.ndarray, list[str]]] = []  # per dimension: codes per row, label per code
    edges: list[float] = []
    if "kept" in spec.strata:
        kept = pc.fill_null(table["kept"], False).to_numpy(zero_copy_only=False).astype(np.int64)
        parts.append((kept, ["rejected", "kept"]))
    if "category" in spec.strata:
        if "category" not in table.column_names:
            raise ValueError("the dataset has no category column: leave category out of --strata")
        categories = pc.fill_null(table["category"], "no category").combine_chunks().dictionary_encode()
        parts.append((categories.indices.to_numpy(zero_copy_only=False).astype(np.int64),
                      categories.dictionary.to_pylist()))
    if "band" in spec.strata:
        scores = pc.fill_null(table[spec.score_column].cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
        edges = band_edges(scores, spec.bands)
        bands = np.where(np.isfinite(scores), np.searchsorted(edges, scores, side="right") + 1, 0)
        labels = ["no score"] + [f"q{b}" for b in range(1, len(edges) + 2)]
        parts.append((bands.astype(np.int64), [f"{spec.score_column} {label}" for label in labels]))
    combined = np.zeros(n, np.int64)
    for codes, labels in parts:
        combined = combined * len(labels) + codes
    unique, inverse = np.unique(combined, return_inverse=True)
    names = []
    for code in unique:
        words = []
        for _, labels in reversed(parts):
            code, index = divmod(int(code), len(labels))
            words.append(labels[index])
        names.append(" / ".join(reversed(words)) or "all")
    order = np.argsort(names, kind="stable")  # strata listed by name
    return np.argsort(order)[inverse], [names[i] for i in order], edges


def _finite(value: float | None) -> float | None:
    return value if value is not None and np.isfinite(value) else None


def draw(table: pa.Table, spec: SampleSpec, media: MediaIndex) -> Manifest:
    """Stratify, then take the `per_stratum` clips with media that rank first for the seed."""
    stratum, names, edges = strata_of(table, spec)
    clip_ids = table["clip_id"].to_pylist()
    has_media = np.fromiter((clip_id in media for clip_id in clip_ids), bool, len(clip_ids))
    population = np.bincount(stratum, minlength=len(names))
    with_media = np.bincount(stratum[has_media], minlength=len(names))
    picked: list[int] = []
    for s in range(len(names)):
        candidates = np.flatnonzero((stratum == s) & has_media)
        picked += sorted(candidates.tolist(), key=lambda i: rank_key(spec.seed, clip_ids[i]))[: spec.per_stratum]
    picked.sort(key=lambda i: rank_key(spec.seed + 1, clip_ids[i]))  # raters move across strata evenly
    manifest = Manifest("", spec, edges, dict(zip(names, population.tolist())),
                        dict(zip(names, (population - with_media).tolist())))
    rows = table.take(pa.array(picked, pa.int64())).to_pylist()
    manifest.clips = [
        ReviewClip(r["clip_id"], names[stratum[i]], r.get("kept"), r.get("category"), _finite(r[spec.score_column]),
                   r.get("caption"), video="")
        for i, r in zip(picked, rows)
    ]
    return manifest


def sample_review(dataset: str | os.PathLike[str], out: str | os.PathLike[str], spec: SampleSpec = SampleSpec(),
                  media_sources: tuple[str, ...] = (), source_dirs: tuple[str, ...] = ()) -> Manifest:
    """Write the review directory `out`; rerunning with the same inputs leaves an identical one in place.

    Media come from `media_sources` (shards, media Parquet, folders), then the dataset's own media, then
    local source videos under `source_dirs` (for a run's records.parquet, also the run's source folders)."""
    dataset, out = Path(dataset), Path(out)
    table, media_files = read_dataset(dataset, spec.score_column)
    counts = pc.value_counts(table["clip_id"])
    repeated = counts.filter(pc.greater(counts.field("counts"), 1))
    if len(repeated):
        raise ValueError(f"{dataset}: clip_id {repeated[0]['values']} appears more than once")
    media = MediaIndex()
    for source in (*media_sources, *map(str, media_files)):
        media.add_path(Path(source))
    directories = [Path(d) for d in source_dirs]
    if dataset.is_file():
        directories += run_source_directories(dataset)
    if directories and "source" in table.column_names:
        local = table.filter(pc.equal(table["source"], "local"))
        media.add_sources(local.select(["clip_id", "url", "start_time", "end_time", "source"]).to_pylist(),
                          directories)
    manifest = draw(table, spec, media)
    if not manifest.clips:
        raise ValueError(f"{dataset}: none of its {table.num_rows} clips has media; pass shards, a media Parquet or "
                         "a folder of {clip_id}.mp4 files with --media, or local source folders with --source-dir")
    manifest.source = str(dataset)
    staging = out.parent / f".{out.name}.sampling-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        placed = media.place([(c.clip_id, f"{i:05d}") for i, c in enumerate(manifest.clips)], staging / MEDIA_DIR)
        for clip in manifest.clips:
            where = placed[clip.clip_id]
            clip.video = f"{MEDIA_DIR}/{where.video}"
            clip.start, clip.end = where.start, where.end
        (staging / MANIFEST).write_text(manifest.to_json())
        _move_into_place(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _move_into_place(staging: Path, out: Path) -> None:
    """A new directory is renamed into place; an existing one is kept only if it holds this very sample."""
    if out.exists():
        existing = out / MANIFEST
        if existing.is_file() and existing.read_bytes() == (staging / MANIFEST).read_bytes():
            return
        raise FileExistsError(f"{out} already exists and holds something else; choose a new --out directory "
                              "(a review directory is never overwritten: it may hold votes)")
    os.replace(staging, out)
