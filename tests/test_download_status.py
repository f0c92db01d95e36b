"""Availability statuses from real yt-dlp errors: a planted extractor raises through yt-dlp's own helpers
(raise_geo_restricted, raise_login_required, raise_no_formats) with YouTube's reason texts, YoutubeDL
wraps them as it does for YouTube, and fetch.py's classifier plus status_of turn them into statuses.
A local server cannot make YouTube's private/removed/geo cases, hence this separate test."""

from __future__ import annotations

import pytest
from yt_dlp import YoutubeDL
from yt_dlp.extractor.common import InfoExtractor
from yt_dlp.utils import DownloadError, UnsupportedError

from curation import fetch as fetch_mod
from curation.download.status import status_of, summary_lines
from curation.errors import ClipError

YOUTUBE_REASONS = {
    "private": "Private video. Sign in if you've been granted access to this video",
    "removed": "This video has been removed by the uploader",
    "terminated": "This video is no longer available because the YouTube account associated with this video "
                  "has been terminated.",
    "copyright": "This video is no longer available due to a copyright claim by Example Records",
    "unavailable": "Video unavailable. This video is not available",
    "age": "Sign in to confirm your age. This video may be inappropriate for some users.",
    "bot": "Sign in to confirm you\u2019re not a bot. This helps protect our community.",
    "live": "This live event will begin in 3 hours.",
    "session": "This content isn't available, try again later. The current session has been rate-limited by "
               "YouTube for up to an hour.",
}


class PlantedIE(InfoExtractor):
    _VALID_URL = r"planted:(?P<id>\w+)"

    def _real_extract(self, url: str) -> dict:
        kind = self._match_id(url)
        if kind == "geo":
            self.raise_geo_restricted("The uploader has not made this video available in your country", ["NO"])
        if kind == "members":
            self.raise_login_required("Join this channel to get access to members-only content like this video")
        if kind == "unsupported":
            raise UnsupportedError(url)
        self.raise_no_formats(YOUTUBE_REASONS[kind], expected=True, video_id="abcdefghijk")
        raise AssertionError("unreachable")


class _Quiet:
    def debug(self, msg: str) -> None: ...
    def info(self, msg: str) -> None: ...
    def warning(self, msg: str) -> None: ...
    def error(self, msg: str) -> None: ...


def ytdlp_error(kind: str) -> DownloadError:
    with YoutubeDL({"quiet": True, "logger": _Quiet()}) as ydl:
        ydl.add_info_extractor(PlantedIE())
        with pytest.raises(DownloadError) as caught:
            ydl.extract_info(f"planted:{kind}", download=False, ie_key="Planted")
    return caught.value


@pytest.mark.parametrize(("kind", "status"), [
    ("private", "private"), ("removed", "removed"), ("terminated", "removed"), ("copyright", "removed"),
    ("unavailable", "unavailable"), ("age", "age_restricted"), ("bot", "blocked"), ("geo", "geo_blocked"),
    ("members", "login_required"), ("live", "live"), ("session", "rate_limited"), ("unsupported", "unsupported_url"),
])
def test_yt_dlp_errors_become_statuses(kind: str, status: str) -> None:
    failure = fetch_mod._classify(ytdlp_error(kind))  # what the download worker sends back
    assert status_of(ClipError(failure.reason, failure.detail)) == status


def test_reason_codes_without_a_message_and_decode_failures() -> None:
    assert status_of(ClipError("http_404", "HTTP Error 404: Not Found")) == "unavailable"
    assert status_of(ClipError("rate_limited", "HTTP Error 429")) == "rate_limited"
    assert status_of(ClipError("too_short", "x.mp4: 2.00 s long")) == "too_short"
    assert status_of(ClipError("corrupt", "x.mp4: cannot open")) == "decode_failed"
    refused = "Unable to download webpage: Failed to establish a new connection: [Errno 111] Connection refused"
    assert status_of(ClipError("download_failed", refused)) == "network_error"
    assert status_of(ClipError("download_failed", "something new")) == "error"


def test_summary_gives_the_available_fraction_per_split() -> None:
    lines = summary_lines([("train", "ok"), ("train", "private"), ("train", "ok"), ("train", "ok"), ("test", "removed")])
    assert lines == ["test: 0/1 available (0.0%); removed 1", "train: 3/4 available (75.0%); private 1"]
