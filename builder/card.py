"""The dataset card: Hub YAML from `DatasetCardData` and a datasheet body filled from the build.

Sections follow the datasheet of the ACAV-1M supplement (motivation, composition, collection,
preprocessing, uses, distribution, maintenance). Every number comes from the build or the run summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from huggingface_hub import DatasetCardData

from builder.curation_report import curation_sections
from builder.release import ReleaseInfo, RunSummary
from builder.schema import CATEGORIES

if TYPE_CHECKING:
    from builder.build import BuildResult
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


def render_body(result: BuildResult, release: ReleaseInfo) -> str:
    run = release.run
    default = result.stats.get("default")
    candidates = result.stats.get("candidates")
    main = default or candidates
    split_line = ", ".join(f"{split}: {rows}" for split, rows in sorted(main.rows.items()))
    configs = "\n".join(
        f"- `{name}`: {stats.schema.description} {stats.num_rows} rows, {stats.files_bytes / 2**20:.1f} MiB of Parquet."
        for name, stats in result.stats.items()
    )
    categories = main.values.get("category", {})
    models = "\n".join(f"- {role}: `{model}`" for role, model in sorted(run.models.items())) or "- none recorded"
    warning = ""
    if run.random_weights:
        warning = (
            "\n> **Random-weight models.** This build was scored with randomly initialised models (a demo or "
            "test run). Its similarity scores, categories and filter decisions are not meaningful.\n"
        )
    notes = "\n".join(f"- {note}" for note in run.notes)
    sources = main.values.get("source", {})
    licences = main.values.get("license", {})
    return f"""# {release.pretty_name}
{warning}
Version {release.version}. Built with the acav1m package, which implements the curation of
ACAV-1M (captioning, ImageBind alignment filtering, categories), AVSET-10M (calibrated thresholds, voice-over
filtering) and ACAV100M (mutual-information subset selection).

```python
from datasets import load_dataset
ds = load_dataset("{release.name}", streaming=True, split="train")
strong = load_dataset("{release.name}", streaming=True, split="train",
                      filters=[("sim_av_instance", ">=", 0.0)])
```

## Motivation
Large video collections pair pictures with sound that does not belong to them (background music, voice-over,
dubbing). This dataset keeps clips whose audio, frames and caption agree, so audio-visual models learn
from corresponding signals.

## Composition
Rows per split ({'default' if default else 'candidates'}): {split_line}. Splits are assigned by a hash of the
source video id, so no source video appears in two splits.

Configs:
{configs}

Categories (zero-shot, six classes: {", ".join(CATEGORIES)}):

{_counts_table("category", categories) if categories else "No categories were assigned in this build."}

Score distributions (raw cosine in [-1, 1]; quantiles exact to 0.01):

{_score_table(main)}

{curation_sections(result.stats, run)}

Sources: {", ".join(f"{k} ({v})" for k, v in sorted(sources.items())) or "not recorded"}.

## Collection process
{release.sources} Candidates were fetched with yt-dlp (YouTube, URLs) or read from disk, cut into clips
(`[start_time, end_time)`, exactly the span decoded and scored), decoded to one frame per second (224x224) and
16 kHz mono audio.

Retention per stage:

{_retention_table(run)}

{_avset_section(run)}

## Preprocessing, labelling and filtering
Models:
{models}

{_filters_section(run)}

{evaluation_statement(run)}
{notes}

## Uses
Audio-visual representation learning, retrieval, sound-source localisation, classification and benchmarking.
Use the `candidates` config to choose your own thresholds. Not for identifying or profiling people.

## Distribution and licence
Annotations (captions, scores, categories, flags) are released under {release.annotation_license.upper()}.
{release.media_license}

Licences declared by the inputs: {", ".join(f"{k} ({v})" for k, v in sorted(licences.items())) or "none"}.

{availability_section(release)}

## Maintenance and takedown
Releases are versioned. To have a clip removed, contact the maintainers: {release.contact} Removed clips are
dropped from the next release; their ids are listed in its notes.
"""


def write_card(directory: Path, result: BuildResult, release: ReleaseInfo) -> Path:
    text = f"---\n{card_data(result, release).to_yaml()}\n---\n\n{render_body(result, release)}"
    path = directory / "README.md"
    path.write_text(text, encoding="utf-8")
    return path
