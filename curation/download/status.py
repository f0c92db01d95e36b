"""Availability as data: one status per row, from fetch/decode failure reasons and yt-dlp's messages.

yt-dlp reports most "why can't I have this video" cases as an ``ExtractorError`` (``expected=True``)
whose text is YouTube's own reason; only geo restriction has its own class (``GeoRestrictedError``,
whose message says so). fetch.py keeps that text (URL queries redacted) in ``ClipError.detail``, so the
status is read from the reason code first and the message second.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from builder.availability import OK
from curation.errors import ClipError
from curation.fetch import LIVE_MESSAGE_RE

# yt-dlp / YouTube messages, checked in order (the age gate says "Sign in to confirm", like the bot check).
_MESSAGES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (status, re.compile(pattern, re.IGNORECASE))
    for status, pattern in (
        ("age_restricted", r"confirm your age|age[- ]restricted|inappropriate for some users"),
        ("geo_blocked", r"not made this video available in your country|not available from your location"
                        r"|geo[- ]?restrict"),
        ("private", r"private video|this video is private"),
        ("removed", r"removed by the uploader|removed for violating|has been removed|account associated with"
                    r" this video has been terminated|copyright claim|no longer available"),
        ("login_required", r"members[- ]only|join this channel|requires payment|only available for registered"),
        ("live", LIVE_MESSAGE_RE.pattern),
        ("rate_limited", r"rate-limited|try again later|too many requests"),
        ("unavailable", r"video unavailable|video is unavailable|does not exist|is not available"),
        ("network_error", r"connection refused|failed to establish|connection reset|name resolution"
                          r"|name or service not known"),
    )
)
_REASONS = {
    "live_or_premiere": "live",
    "http_404": "unavailable",
    "missing_file": "unavailable",
    "blocked": "blocked",  # HTTP 403 or "confirm you're not a bot": says nothing about the video
    "rate_limited": "rate_limited",
    "timeout": "timeout",
    "http_5xx": "http_error",
    "http_error": "http_error",
    "invalid_video_id": "invalid_id",
    "unsafe_path": "invalid_id",
    "too_short": "too_short",
    "missing_audio": "no_audio",
    "missing_video": "no_video",
    "corrupt": "decode_failed",
    "not_video": "decode_failed",
    "empty_file": "decode_failed",
    "frame_too_large": "decode_failed",
    "unreadable": "decode_failed",
}
_READ_MESSAGE = frozenset({"download_failed", "blocked", "http_error"})


def status_of(error: ClipError) -> str:
    """The availability status of a failed clip: a yt-dlp message beats a generic reason code."""
    if error.reason in _READ_MESSAGE:
        for status, pattern in _MESSAGES:
            if pattern.search(error.detail):
                return status
    if error.reason == "download_failed" and "unsupported url" in error.detail.lower():
        return "unsupported_url"
    return _REASONS.get(error.reason, "error")


def summary_lines(rows: Iterable[tuple[str, str]]) -> list[str]:
    """Per split: available fraction and the count of every other status, from (split, status) pairs."""
    by_split: dict[str, Counter[str]] = {}
    for split, status in rows:
        by_split.setdefault(split, Counter())[status] += 1
    lines = []
    for split, counts in sorted(by_split.items()):
        total = sum(counts.values())
        others = ", ".join(f"{s} {n}" for s, n in sorted(counts.items(), key=lambda i: (-i[1], i[0])) if s != OK)
        lines.append(f"{split}: {counts[OK]}/{total} available ({counts[OK] / total:.1%})" + (f"; {others}" if others else ""))
    return lines
