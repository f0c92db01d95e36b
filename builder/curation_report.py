"""Card sections that compare the candidates with the kept clips, and count clips per audio category.

- Before/after filtering (ACAV-1M Tables 28/29): per score, mean and std over every scored candidate
  (`candidates` config) and over the kept clips (`default`), the threshold applied, and the change.
- Clips per top-level AudioSet category (AVSET-10M Figure 2): from the clip list's own labels where
  a clip has them, else from the audio tagger's most probable label (a pseudo-label), counted apart.

Counting is vectorised per Arrow batch (`audio_category_counts`), so a build of millions of rows pays
no per-row Python cost.
"""

from __future__ import annotations

from collections import Counter
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.release import RunSummary

# score column -> the filter whose threshold applies to it (thresholds are keyed by filter or by column)
SCORE_FILTERS = {"sim_text_audio": "language", "sim_text_visual": "language", "sim_av_instance": "instance",
                 "sim_av_temporal": "temporal"}


@cache
def _category_bits() -> tuple[pa.Array, np.ndarray, tuple[str, ...]]:
    """(label names, bitmask of top-level categories per name, category names) from the AudioSet ontology."""
    from curation.ontology import load_ontology

    ontology = load_ontology()
    roots = tuple(sorted({root for r in ontology.roots.values() for root in r}))
    names = sorted(ontology.names.values())
    bits = np.array([sum(1 << roots.index(r) for r in ontology.roots[ontology.mid_of(n)]) for n in names], np.uint16)
    return pa.array(names, pa.string()), bits, roots


def _row_bits(labels: pa.Array) -> np.ndarray:
    """Per row, the OR of its labels' category bitmasks (unknown names add nothing)."""
    names, bits, _ = _category_bits()
    out = np.zeros(len(labels), np.uint16)
    flat = pc.list_flatten(labels)
    if len(flat):
        index = pc.index_in(flat, value_set=names).fill_null(-1).to_numpy(zero_copy_only=False)
        rows = pc.list_parent_indices(labels).to_numpy(zero_copy_only=False)
        np.bitwise_or.at(out, rows, np.where(index >= 0, bits[index], 0).astype(np.uint16))
    return out


def audio_category_counts(batch: pa.RecordBatch | pa.Table) -> Counter:
    """(top-level category, "manual" | "tagger") -> clips of this batch; a clip counts once per category."""
    if "labels" not in batch.schema.names:
        return Counter()
    labels = pc.fill_null(batch.column("labels"), pa.scalar([], pa.list_(pa.string())))
    if isinstance(labels, pa.ChunkedArray):
        labels = labels.combine_chunks()
    manual = _row_bits(labels)
    has_manual = pc.list_value_length(labels).to_numpy(zero_copy_only=False) > 0
    tagger = np.zeros(len(manual), np.uint16)
    if "tagger_labels" in batch.schema.names:
        top = batch.column("tagger_labels")
        top = top.combine_chunks() if isinstance(top, pa.ChunkedArray) else top
        tagger = _row_bits(pc.list_slice(pc.fill_null(top, pa.scalar([], top.type)), 0, 1))
    _, _, roots = _category_bits()
    counts: Counter = Counter()
    for b, root in enumerate(roots):
        for kind, mask in (("manual", has_manual), ("tagger", ~has_manual)):
            hits = int(np.count_nonzero((np.where(mask, manual if kind == "manual" else tagger, 0) >> b) & 1))
            if hits:
                counts[(root, kind)] = hits
    return counts


def audio_category_table(counts: Counter) -> str:
    """AVSET Figure 2 as a table; empty when no clip has a label."""
    if not counts:
        return ""
    roots = sorted({root for root, _ in counts}, key=lambda r: -(counts[(r, "manual")] + counts[(r, "tagger")]))
    lines = ["Clips per top-level AudioSet category (AVSET-10M Figure 2 form; a clip with labels in several "
             "categories counts in each). Labels from the input clip lists where given, else the audio tagger's "
             "most probable label (a pseudo-label).", "",
             "| AudioSet category | clips | from input labels | from tagger pseudo-labels |", "|---|---|---|---|"]
    lines += [f"| {root} | {counts[(root, 'manual')] + counts[(root, 'tagger')]} | {counts[(root, 'manual')]} | "
              f"{counts[(root, 'tagger')]} |" for root in roots]
    return "\n".join(lines)


def _threshold(run: RunSummary, column: str) -> float | None:
    """The normalised threshold applied to a score column, if any."""
    value = run.thresholds.get(column, run.thresholds.get(SCORE_FILTERS.get(column, "")))
    return None if value is None else float(value)


def before_after_table(candidates, kept, run: RunSummary) -> str:
    """ACAV-1M Tables 28/29 over this build: candidates vs kept clips, per score. ``candidates`` and ``kept``
    are the `candidates` and `default` ConfigStats (anything with ``.scores`` of ScoreSummary)."""
    lines = ["Similarity before and after filtering (ACAV-1M Tables 28/29 form): every scored candidate "
             f"(`candidates`) against the kept clips (`default`); raw cosine mean +- std, thresholds in "
             f"{run.normalization} and as the raw cosine they mean; the change in %, like the paper's, is of the "
             "normalised means.", "",
             "| score | candidates | mean +- std (all) | kept | mean +- std (kept) | threshold (normalised / cos) | "
             "change of mean | change % |", "|---|---|---|---|---|---|---|---|"]
    rows = 0
    for column, before in candidates.scores.items():
        after = kept.scores.get(column)
        if not before.count:
            continue
        limit = _threshold(run, column)
        threshold = "none" if limit is None else f"{limit:.3f} / {2 * limit - 1:.3f}"
        if after is None or not after.count:
            lines.append(f"| `{column}` | {before.count} | {before.mean:.3f} +- {before.std:.3f} | 0 | | {threshold} "
                         "| | |")
        else:
            change = after.mean - before.mean
            percent = 100 * change / (before.mean + 1)  # = change of (cos + 1) / 2 relative to its mean
            lines.append(f"| `{column}` | {before.count} | {before.mean:.3f} +- {before.std:.3f} | {after.count} | "
                         f"{after.mean:.3f} +- {after.std:.3f} | {threshold} | {change:+.3f} | {percent:+.2f} |")
        rows += 1
    return "\n".join(lines) if rows else ""


def curation_sections(stats: dict, run: RunSummary) -> str:
    """The card's hook: both sections, from the build's ConfigStats by config name."""
    main = stats.get("default") or stats.get("candidates")
    parts = [audio_category_table(main.audio_categories) if main is not None else ""]
    if "candidates" in stats and "default" in stats:
        parts.append(before_after_table(stats["candidates"], stats["default"], run))
    return "\n\n".join(p for p in parts if p)
