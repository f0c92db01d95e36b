"""Metadata extraction and filters (ACAV100M §3.1) on stored yt-dlp info dicts; the language rule on a planted mix."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from curation.commands import FILTER_PRESETS
from curation.config import load_config
from curation.fetch import trim_info
from curation.metadata.filters import KeywordMatcher, MetadataConfig, cumulative_languages, screen_videos
from curation.metadata.info import VideoMetadata, platform_license

DATA = Path(__file__).parent / "data" / "info_dicts"


def video(name: str) -> VideoMetadata:
    raw = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    return VideoMetadata.from_info(raw["id"], trim_info(raw), "youtube")


def preset() -> MetadataConfig:
    return load_config(None, FILTER_PRESETS["acav100m"]).metadata


def test_trimmed_info_keeps_the_metadata_and_drops_signed_media_urls() -> None:
    raw = json.loads((DATA / "creative_commons.json").read_text(encoding="utf-8"))
    trimmed = trim_info(raw)
    assert "formats" not in trimmed and "googlevideo" not in json.dumps(trimmed)
    assert trimmed["license"] == "Creative Commons Attribution license (reuse allowed)"
    assert (trimmed["duration"], trimmed["categories"], trimmed["channel_id"]) == (
        312, ["Pets & Animals"], "UCuLGmD72gJDBwmLw06X58SA")


def test_fields_read_from_realistic_info_dicts() -> None:
    cc = video("creative_commons")
    assert (cc.duration_s, cc.category, cc.license, cc.upload_date, cc.channel_id) == (
        312.0, "Pets & Animals", "cc-by-3.0", "2015-01-28", "UCuLGmD72gJDBwmLw06X58SA")
    assert cc.live_status == "not_live" and not cc.is_live
    music = video("music_video")
    assert (music.category, music.license) == ("Music", "youtube-standard")  # no licence row: standard
    live = video("live_stream")
    assert live.duration_s is None and live.is_live and live.live_status == "is_live"
    assert video("short_clip").duration_s == 20.0
    assert video("russian_title").title.startswith("Прогулка")


def test_licence_mapping() -> None:
    assert platform_license("Creative Commons Attribution license (reuse allowed)", "youtube") == "cc-by-3.0"
    assert platform_license("Standard YouTube License", "youtube") == "youtube-standard"
    assert platform_license(None, "youtube") == "youtube-standard"
    assert platform_license("https://creativecommons.org/licenses/by-sa/4.0/", "url") == "cc-by-sa-4.0"
    assert platform_license("http://creativecommons.org/publicdomain/zero/1.0/", "url") == "cc0-1.0"
    assert platform_license("All rights reserved", "url") is None
    assert VideoMetadata.from_info("x", {"timestamp": 1709251200}, "url").upload_date == "2024-03-01"


def test_paper_preset_rejects_each_fixture_for_its_own_reason() -> None:
    config = preset()
    config.language_share = None
    config.languages = ["en"]  # five videos are too few for the share rule; tested on its own below
    names = ["creative_commons", "music_video", "short_clip", "live_stream", "russian_title"]
    screen = screen_videos([video(n) for n in names], config)
    by_name = {n: screen.verdicts[video(n).video_id] for n in names}
    assert {n: v.filter for n, v in by_name.items()} == {
        "creative_commons": None, "music_video": "category", "short_clip": "duration", "live_stream": "live",
        "russian_title": "language"}
    assert by_name["short_clip"].detail == "20 s < 30 s"
    assert by_name["music_video"].detail == "category Music"
    assert (by_name["russian_title"].language, by_name["creative_commons"].language) == ("ru", "en")
    assert by_name["russian_title"].language_confidence > 0.5
    assert screen.report["duration_unknown"] == 1  # the live stream: kept by duration, caught by liveness


def test_keywords_match_whole_words_in_title_or_description(tmp_path: Path) -> None:
    matcher = KeywordMatcher(["animation", "let's play", "3d render"])
    assert matcher.find("My first ANIMATION!") == "animation"
    assert matcher.find("reanimationist tales") is None
    assert matcher.find("Let's   Play Zelda part 3") == "let's play"
    assert matcher.find("A 3D render of a kitchen") == "3d render"
    user = tmp_path / "words.txt"
    user.write_text("# mine\nunboxing\n\n")
    config = MetadataConfig(enabled=True, default_keywords=True, keyword_files=[str(user)])
    assert "unboxing" in config.keywords() and "gameplay" in config.keywords()
    cc = video("creative_commons")
    unboxing = VideoMetadata("unboxing001", "Phone unboxing", "", 120.0)
    screen = screen_videos([cc, unboxing], config)
    assert screen.verdicts[cc.video_id].filter is None
    assert screen.verdicts[unboxing.video_id].detail == "keyword 'unboxing' in title or description"
    with pytest.raises(FileNotFoundError, match="metadata.keyword_files"):
        MetadataConfig(keyword_files=[str(tmp_path / "nope.txt")]).keywords()


def test_cumulative_share_rule_matches_its_definition() -> None:
    rng = np.random.default_rng(0)
    languages = ["en", "es", "pt", "ru", "ja", "fr", "de", "ko", "it", "und"]
    for _ in range(20):
        counts = Counter({lang: int(n) for lang, n in zip(languages, rng.integers(1, 60, len(languages)))})
        share = float(rng.uniform(0.3, 1.0))
        ordered = sorted(((-n, lang) for lang, n in counts.items() if lang != "und"))
        cover = np.cumsum([-n for n, _ in ordered]) / sum(counts.values())
        expected = [lang for (_, lang), before in zip(ordered, np.r_[0.0, cover[:-1]]) if before < share]
        assert cumulative_languages(counts, share) == expected, (counts, share)


def test_language_rule_keeps_the_frequent_languages_of_a_planted_mix() -> None:
    texts = {
        "en": ["A dog runs along the beach at sunset", "Fixing an old bicycle in the garage",
               "Children playing football in the park", "Cooking pancakes for breakfast on Sunday",
               "Waves crashing against the rocks during a storm", "My cat chasing a laser pointer"],
        "es": ["Un perro corre por la playa al atardecer", "Cocinando una paella con mi abuela",
               "Tormenta de verano sobre el lago"],
        "ru": ["Прогулка по зимнему лесу и пение птиц"],
    }
    videos = [VideoMetadata(f"{lang}{i:02d}", text) for lang, items in texts.items() for i, text in enumerate(items)]
    screen = screen_videos(videos, MetadataConfig(enabled=True, language_share=0.85))
    assert screen.kept_languages == ["en", "es"]  # 6/10, then 9/10 >= 0.85: Russian is not needed
    assert screen.report["language_counts"] == {"en": 6, "es": 3, "ru": 1}
    rejected = {vid for vid, v in screen.verdicts.items() if v.filter}
    assert rejected == {"ru00"}
    assert screen.verdicts["ru00"].detail.startswith("language ru (")


def test_each_fixture_clip_gets_its_reason_in_errors_and_a_retention_row(tmp_path: Path) -> None:
    """The probe stage on YouTube candidates whose info dicts are already cached: no network at all."""
    from curation.fetch import FetchConfig
    from curation.sources import Candidate, clip_id, youtube_url
    from curation.stages.probe import screen_candidates

    cache = tmp_path / "cache"
    (cache / "info").mkdir(parents=True)
    names = ["creative_commons", "music_video", "short_clip", "live_stream", "russian_title"]
    clips, ids = [], {}
    for name in names:
        raw = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
        (cache / "info" / f"{raw['id']}.json").write_text(json.dumps(trim_info(raw)))
        ids[raw["id"]] = name
        clips += [Candidate(clip_id(raw["id"], s), raw["id"], youtube_url(raw["id"]), s, s + 10.0, "youtube")
                  for s in (0.0, 10.0)]  # two clips per video: one probe, two error rows
    config = preset()
    config.languages = ["en", "es"]
    screening = screen_candidates(clips, config, FetchConfig(cache_dir=cache, timeout_s=1.0), tmp_path / "run",
                                  progress=False)
    assert screening.report["probe"] == {"videos": 5, "frozen": 0, "cached": 5, "requests": 0, "failed": 0}
    assert [c.video_id for c in screening.kept] == ["M4gD1WSo5mA"] * 2
    reasons = Counter((ids[e["video_id"]], e["stage"], e["reason"]) for e in screening.errors)
    assert reasons == Counter({("music_video", "metadata", "excluded_category"): 2,
                               ("short_clip", "metadata", "duration_out_of_range"): 2,
                               ("live_stream", "metadata", "live_or_premiere"): 2,
                               ("russian_title", "metadata", "excluded_language"): 2})
    assert [(r.stage, r.inputs, r.outputs, r.failures) for r in screening.retention] == [
        ("probe", 10, 10, 0), ("metadata: duration", 10, 8, 2), ("metadata: live", 8, 6, 2),
        ("metadata: category", 6, 4, 2), ("metadata: keywords", 4, 4, 0), ("metadata: language", 4, 2, 2)]
    kept = screening.columns["M4gD1WSo5mA"]
    assert (kept["source_license"], kept["source_category"], kept["channel_id"]) == (
        "cc-by-3.0", "Pets & Animals", "UCuLGmD72gJDBwmLw06X58SA")
