"""The card's figures: PNGs drawn with matplotlib from the build's statistics and the run summary.

A figure without data is not drawn. The bytes depend only on the data: Agg backend, the DejaVu font that
ships with matplotlib, fixed size and dpi, and no `Software`/date metadata in the PNG.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from builder.schema import CATEGORIES
from builder.stats import SCORE_BINS

if TYPE_CHECKING:
    from builder.release import RunSummary
    from builder.stats import ConfigStats

IMAGES = "images"
# Threshold key in the run summary -> the score columns it applies to (keys may also be score columns).
THRESHOLD_SCORES = {
    "language": ("sim_text_audio", "sim_text_visual"),
    "instance": ("sim_av_instance",),
    "temporal": ("sim_av_temporal",),
}
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "acav1m",
    "path.simplify": False,
}


@dataclass(frozen=True)
class Figure:
    path: str  # relative to the build, e.g. images/scores.png
    caption: str


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, directory: Path, name: str) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    _plt().close(fig)
    path = directory / IMAGES / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return f"{IMAGES}/{name}"


def raw_thresholds(run: RunSummary) -> dict[str, float]:
    """Score column -> raw-cosine threshold, from the run's normalised thresholds ((cos + 1) / 2)."""
    out: dict[str, float] = {}
    for key, value in run.thresholds.items():
        for column in THRESHOLD_SCORES.get(key, (key,) if key.startswith("sim_") else ()):
            out[column] = 2.0 * float(value) - 1.0
    return out


def score_histograms(directory: Path, stats: ConfigStats, run: RunSummary) -> Figure | None:
    """One panel per computed score with the threshold the run applied, when it applied one."""
    scores = {name: s for name, s in stats.scores.items() if s.count}
    if not scores:
        return None
    plt = _plt()
    thresholds = raw_thresholds(run)
    with plt.rc_context(STYLE):
        columns = min(2, len(scores))
        rows = -(-len(scores) // columns)
        fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.4 * rows), squeeze=False)
        for ax, (name, summary) in zip(axes.flat, scores.items()):
            ax.stairs(summary.histogram, SCORE_BINS, fill=True, color="#4C72B0")
            if name in thresholds:
                ax.axvline(thresholds[name], color="#C44E52", linestyle="--", linewidth=1.2,
                           label=f"threshold {thresholds[name]:.2f}")
                ax.legend(frameon=False, loc="upper right")
            ax.set_title(f"{name} ({summary.count} clips)")
            ax.set_xlabel("raw cosine")
            ax.set_ylabel("clips")
            low, high = _data_range(summary.histogram, thresholds.get(name))
            ax.set_xlim(low, high)
        for ax in list(axes.flat)[len(scores):]:
            ax.set_visible(False)
        fig.tight_layout()
        path = _save(fig, directory, "scores.png")
    drawn = sorted(set(thresholds) & set(scores))
    caption = (f"Distribution of each score over the `{stats.schema.name}` config (raw cosine, bins of 0.01)"
               + (f"; dashed: the threshold this run applied ({', '.join(drawn)})." if drawn else
                  "; no similarity threshold was applied in this run."))
    return Figure(path, caption)


def _data_range(histogram: np.ndarray, threshold: float | None) -> tuple[float, float]:
    nonzero = np.nonzero(histogram)[0]
    low, high = SCORE_BINS[nonzero[0]], SCORE_BINS[nonzero[-1] + 1]
    if threshold is not None:
        low, high = min(low, threshold), max(high, threshold)
    pad = max(0.05, 0.05 * (high - low))
    return max(-1.0, low - pad), min(1.0, high + pad)


def null_vs_corresponding(directory: Path, stats: ConfigStats, run: RunSummary) -> Figure | None:
    """Calibrated mode: each score's histogram over the run's clips against its fitted null (mismatched pairs)."""
    calibration = {k: v for k, v in run.extra.get("calibration", {}).items() if stats.scores.get(k)}
    calibration = {k: v for k, v in calibration.items() if stats.scores[k].count}
    if not calibration:
        return None
    plt = _plt()
    width = SCORE_BINS[1] - SCORE_BINS[0]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(calibration), figsize=(4.2 * len(calibration), 3.1), squeeze=False)
        for ax, (name, fit) in zip(axes.flat, calibration.items()):
            summary = stats.scores[name]
            density = summary.histogram / (summary.count * width)
            clips = ax.stairs(density, SCORE_BINS, fill=True, color="#4C72B0")
            mean, std = fit["null_mean"], max(fit["null_std"], 1e-6)
            x = np.linspace(-1, 1, 801)
            (null,) = ax.plot(x, np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi)), color="#DD8452")
            ax.axvline(fit["threshold"], color="#C44E52", linestyle="--", linewidth=1.2,
                       label=f"threshold {fit['threshold']:.2f}")
            ax.legend(frameon=False, fontsize=7, loc="upper right")
            ax.set_xlim(*_data_range(summary.histogram, fit["threshold"]))
            ax.set_title(f"{name} ({fit['n_pairs']} mismatched pairs)")
            ax.set_xlabel("raw cosine")
            ax.set_ylabel("density")
        fig.legend([clips, null], ["this run's clips", "null: normal fitted to mismatched pairs"], loc="lower center",
                   ncol=2, frameon=False, fontsize=8)
        fig.tight_layout(rect=(0, 0.08, 1, 1))
        path = _save(fig, directory, "null_vs_corresponding.png")
    return Figure(path, "Calibrated thresholds: each score over this run's clips (bars) against the normal fitted "
                        "to its null distribution of deliberately mismatched pairs (line, mean and std of those "
                        "pairs); dashed: null mean + k sigma, the threshold applied.")


def retention_funnel(directory: Path, run: RunSummary) -> Figure | None:
    if not run.retention:
        return None
    plt = _plt()
    stages = [row.stage for row in run.retention]
    outputs = [row.outputs for row in run.retention]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(stages) + 0.9))
        y = np.arange(len(stages))[::-1]
        ax.barh(y, outputs, color="#55A868")
        first = run.retention[0].inputs or 1
        for yi, value in zip(y, outputs):
            ax.text(value, yi, f" {value} ({value / first:.0%})", va="center", fontsize=8)
        ax.set_yticks(y, stages)
        ax.set_xlabel("clips after the stage")
        ax.set_xlim(0, max(outputs + [1]) * 1.25)
        fig.tight_layout()
        path = _save(fig, directory, "retention.png")
    return Figure(path, f"Retention funnel: clips left after each stage of the run (share of the "
                        f"{run.retention[0].inputs} inputs).")


def categories(directory: Path, stats: ConfigStats) -> Figure | None:
    counts = stats.values.get("category", {})
    if not counts:
        return None
    plt = _plt()
    names = [c for c in CATEGORIES if c in counts] + sorted(set(counts) - set(CATEGORIES))
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.5, 2.6))
        ax.bar(names, [counts[n] for n in names], color="#8172B3")
        ax.set_ylabel("clips")
        ax.set_title(f"Clips per category ({stats.schema.name}, {sum(counts.values())} clips)")
        fig.tight_layout()
        path = _save(fig, directory, "categories.png")
    return Figure(path, "Clips per zero-shot category in the published (`default`) clips.")


def selection_diversity(directory: Path, run: RunSummary) -> Figure | None:
    """ACAV100M appendix A.1: per clustering, cluster shares of the selected clips (sorted, largest first)
    against a random subset of the same size; a selection that collapsed onto few clusters falls steeply."""
    histograms = run.extra.get("selection", {}).get("diversity_histograms") or {}
    histograms = {name: h for name, h in histograms.items() if sum(h["selected"])}
    if not histograms:
        return None
    plt = _plt()
    names = sorted(histograms)
    cols = min(5, len(names))
    rows = -(-len(names) // cols)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 1.9 * rows + 0.6), squeeze=False)
        for ax in axes.ravel()[len(names):]:
            ax.set_visible(False)
        for ax, name in zip(axes.ravel(), names):
            for key, color in (("random", "#8C8C8C"), ("selected", "#4C72B0")):
                counts = np.sort(np.asarray(histograms[name][key], dtype=float))[::-1]
                ax.plot(np.arange(1, len(counts) + 1), counts / max(counts.sum(), 1), color=color, label=key)
            ax.set_title(name, fontsize=7)
            ax.tick_params(labelsize=6)
        axes[0][0].set_ylabel("share of clips", fontsize=7)
        for ax in axes[-1]:
            ax.set_xlabel("cluster, largest first", fontsize=7)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False, fontsize=8)
        fig.tight_layout(rect=(0, 0.08, 1, 1))
        path = _save(fig, directory, "selection_diversity.png")
    return Figure(path, "MI subset selection, diversity check (ACAV100M appendix A.1): per clustering, the share of "
                        "selected clips in each cluster, clusters sorted largest first, against a random subset of "
                        "the same size; a selection that collapsed onto a few clusters would fall much more steeply.")


def draw_figures(directory: Path, main: ConfigStats, scored: ConfigStats, run: RunSummary) -> list[Figure]:
    """`scored` is the widest config (candidates when present): the score distributions the thresholds cut."""
    drawn = [
        score_histograms(directory, scored, run),
        null_vs_corresponding(directory, scored, run),
        retention_funnel(directory, run),
        categories(directory, main),
        selection_diversity(directory, run),
    ]
    return [figure for figure in drawn if figure is not None]
