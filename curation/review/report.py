"""`acav1m review report`: majority votes -> per-stratum precision with Wilson intervals, Fleiss' kappa,
raters' agreement with the majority, and how often the filters' decision agrees with people.

Only items that have all their votes count (a half-rated item would bias the majority towards whoever
rated first). A majority is the answer with the most votes when it is unique; `unsure` majorities and ties
are undecided and excluded from rates, and counted. For a kept stratum the Yes rate is the filters'
precision; for a rejected one it is the share of good clips the filters threw away.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curation.review.sample import QUESTIONS, Manifest
from curation.review.store import ANSWERS, DATABASE, Vote, VoteStore

Z95 = 1.959963984540054  # two-sided 95 % normal quantile


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval (Wilson 1927); None for n = 0."""
    if n == 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """Fleiss (1971) kappa of an items x categories count table with the same number of raters per item.

    None when it is undefined: fewer than 2 ratings per item, no items, or every rating in one category."""
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or counts.shape[0] == 0:
        return None
    raters = counts.sum(axis=1)
    if raters[0] < 2 or not np.all(raters == raters[0]):
        return None
    m = raters[0]
    agreement = ((counts * counts).sum(axis=1) - m) / (m * (m - 1))
    shares = counts.sum(axis=0) / counts.sum()
    expected = float((shares * shares).sum())
    if expected >= 1.0:
        return None
    return float((agreement.mean() - expected) / (1 - expected))


def majority(answers: list[str]) -> str:
    """The unique most frequent answer, or 'tie'."""
    ranked = Counter(answers).most_common()
    return ranked[0][0] if len(ranked) == 1 or ranked[0][1] > ranked[1][1] else "tie"


@dataclass(frozen=True)
class Rate:
    """k of n with a 95 % Wilson interval."""

    k: int
    n: int

    def as_dict(self) -> dict[str, Any]:
        interval = wilson_interval(self.k, self.n)
        return {"k": self.k, "n": self.n, "rate": self.k / self.n if self.n else None,
                "ci95": list(interval) if interval else None}


def summarise(manifest: Manifest, votes: list[Vote]) -> dict[str, Any]:
    """Every number of the report, as plain data (the JSON file)."""
    wanted = manifest.spec.votes_per_clip
    clips = {clip.clip_id: clip for clip in manifest.clips}
    by_item: dict[tuple[str, str], list[Vote]] = {}
    for vote in votes:
        by_item.setdefault((vote.clip_id, vote.question), []).append(vote)
    questions = {}
    for question in manifest.spec.questions:
        items = [item for item in manifest.items() if item[1] == question]
        complete = {item: by_item[item][:wanted] for item in items if len(by_item.get(item, [])) >= wanted}
        labels = {item: majority([v.answer for v in item_votes]) for item, item_votes in complete.items()}
        table = np.array([[sum(v.answer == a for v in item_votes) for a in ANSWERS]
                          for item_votes in complete.values()]).reshape(-1, len(ANSWERS))
        questions[question] = {
            "text": QUESTIONS[question].text,
            "items": len(items),
            "complete_items": len(complete),
            "fleiss_kappa": fleiss_kappa(table),
            "strata": _strata(manifest, items, labels, clips),
            "filters_vs_people": _filters_vs_people(labels, clips),
            "raters": _raters(complete, labels),
        }
    return {"source": manifest.source, "votes_per_clip": wanted, "raters": sorted({v.rater for v in votes}),
            "score_column": manifest.spec.score_column, "band_edges": manifest.band_edges,
            "questions": questions}


def _strata(manifest: Manifest, items: list[tuple[str, str]], labels: dict, clips: dict) -> list[dict[str, Any]]:
    rows = []
    for stratum, population in manifest.population.items():
        mine = [item for item in items if clips[item[0]].stratum == stratum]
        decided = [labels[i] for i in mine if labels.get(i) in ("yes", "no")]
        rows.append({
            "stratum": stratum, "population": population, "without_media": manifest.without_media.get(stratum, 0),
            "sampled": len(mine), "complete": sum(i in labels for i in mine),
            "undecided": sum(labels.get(i) in ("unsure", "tie") for i in mine),
            "yes": Rate(decided.count("yes"), len(decided)).as_dict(),
        })
    return rows


def _filters_vs_people(labels: dict, clips: dict) -> dict[str, Any]:
    confusion = Counter()
    for (clip_id, _), label in labels.items():
        kept = clips[clip_id].kept
        if label in ("yes", "no") and kept is not None:
            confusion[f"{'kept' if kept else 'rejected'}_{label}"] += 1
    n = sum(confusion.values())
    agree = confusion["kept_yes"] + confusion["rejected_no"]
    names = ("kept_yes", "kept_no", "rejected_yes", "rejected_no")
    return {"agreement": Rate(agree, n).as_dict(), "confusion": {name: confusion[name] for name in names}}


def _raters(complete: dict, labels: dict) -> list[dict[str, Any]]:
    """Each rater's share of votes equal to the majority, over decided items (their own vote included)."""
    tally: dict[str, list[int]] = {}
    for item, item_votes in complete.items():
        for vote in item_votes:
            counts = tally.setdefault(vote.rater, [0, 0, 0])
            counts[0] += 1
            if labels[item] in ("yes", "no"):
                counts[1] += 1
                counts[2] += vote.answer == labels[item]
    return [{"rater": rater, "votes": votes, "agreement_with_majority": Rate(agree, decided).as_dict()}
            for rater, (votes, decided, agree) in sorted(tally.items())]


def _percent(rate: dict[str, Any]) -> str:
    if rate["n"] == 0:
        return "n/a"
    low, high = rate["ci95"]
    return f"{rate['rate']:.0%} [{low:.0%}, {high:.0%}] ({rate['k']}/{rate['n']})"


def to_markdown(summary: dict[str, Any], figure: str | None = None, heading: str = "#") -> str:
    bands = (f" Score bands are quantiles of `{summary['score_column']}` with edges "
             f"{[round(e, 4) for e in summary['band_edges']]}." if summary["band_edges"] else "")
    lines = [f"{heading} Human review", "",
             f"Source: `{summary['source']}`. Raters: {len(summary['raters'])}; votes wanted per clip and question: "
             f"{summary['votes_per_clip']}.{bands} Rates are over items with all their votes whose majority is Yes "
             "or No (Unsure majorities and ties are undecided), with 95 % Wilson intervals; for kept strata the "
             "Yes rate is the filters' precision, for rejected strata the share of good clips they dropped. "
             "Fleiss' kappa is over Yes / No / Unsure.", ""]
    if figure:
        lines += [f"![Majority-vote Yes rate per stratum]({figure})", ""]
    for question, q in summary["questions"].items():
        kappa = "undefined" if q["fleiss_kappa"] is None else f"{q['fleiss_kappa']:.3f}"
        agreement = q["filters_vs_people"]
        confusion = ", ".join(f"{name.replace('_', ' & ')} {n}" for name, n in agreement["confusion"].items())
        lines += [f"{heading}# {question}: {q['text']}", "",
                  f"{q['complete_items']} of {q['items']} items have all their votes. Fleiss' kappa: {kappa}. "
                  f"Filters' decision agrees with the majority on {_percent(agreement['agreement'])} of the sampled "
                  "clips (strata count equally, not by size); "
                  f"clips per decision and majority: {confusion}.", "",
                  "| stratum | clips in dataset | no media | sampled | complete | undecided | Yes rate [95 % CI] |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {s['stratum']} | {s['population']} | {s['without_media']} | {s['sampled']} | {s['complete']} "
                  f"| {s['undecided']} | {_percent(s['yes'])} |" for s in q["strata"]]
        lines += ["", "| rater | votes | agreement with majority [95 % CI] |", "|---|---|---|"]
        lines += [f"| {r['rater']} | {r['votes']} | {_percent(r['agreement_with_majority'])} |" for r in q["raters"]]
        lines.append("")
    return "\n".join(lines)


def plot(summary: dict[str, Any], path: Path) -> None:
    """Yes rate per stratum with its Wilson interval, one panel per question."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    questions = summary["questions"]
    height = max(2.5, 0.35 * max(len(q["strata"]) for q in questions.values()) + 1.2)
    figure, axes = plt.subplots(1, len(questions), figsize=(6.5 * len(questions), height), squeeze=False)
    for axis, q in zip(axes[0], questions.values()):
        names = [s["stratum"] for s in q["strata"]]
        rates = [s["yes"]["rate"] if s["yes"]["n"] else np.nan for s in q["strata"]]
        errors = np.array([[r - s["yes"]["ci95"][0], s["yes"]["ci95"][1] - r] if s["yes"]["n"] else [0, 0]
                           for r, s in zip(rates, q["strata"])]).T.reshape(2, -1)
        colours = ["#4c9a2a" if name.startswith("kept") else "#b03a2e" if name.startswith("rejected") else "#555"
                   for name in names]
        axis.barh(range(len(names)), np.nan_to_num(rates), height=0.6, xerr=errors, color=colours, capsize=3)
        for y, stratum in enumerate(q["strata"]):
            axis.text(1.02, y, f"{stratum['yes']['k']}/{stratum['yes']['n']}", va="center", fontsize=8,
                      transform=axis.get_yaxis_transform())
        axis.set_yticks(range(len(names)), names, fontsize=8)
        axis.invert_yaxis()
        axis.set_xlim(0, 1)
        axis.set_xlabel("majority Yes rate (95 % Wilson interval)")
        axis.set_title(q["text"], fontsize=10)
    figure.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    figure.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    plt.close(figure)
    os.replace(tmp, path)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_report(review_dir: str | os.PathLike[str], figure: bool = True, card: bool = False) -> dict[str, Any]:
    """report.json + report.md (+ report.png); with `card`, card_section.md to paste into a dataset card."""
    review_dir = Path(review_dir)
    Manifest.load(review_dir)  # says so when this is no review directory at all
    if not (review_dir / DATABASE).is_file():
        raise FileNotFoundError(f"{review_dir / DATABASE} not found: no votes yet; collect them with "
                                f"`acav1m review serve {review_dir}`")
    store = VoteStore(review_dir)
    summary = summarise(store.manifest, store.votes())
    _write_text(review_dir / "report.json", json.dumps(summary, indent=1, sort_keys=True) + "\n")
    if figure or card:
        plot(summary, review_dir / "report.png")
    _write_text(review_dir / "report.md", to_markdown(summary, "report.png" if figure or card else None))
    if card:
        (review_dir / "images").mkdir(exist_ok=True)
        plot(summary, review_dir / "images" / "human_review.png")
        _write_text(review_dir / "card_section.md", to_markdown(summary, "images/human_review.png", heading="##"))
    return summary
