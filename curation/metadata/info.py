"""A source video's platform metadata, read from yt-dlp's info dict: what the filters judge and users filter on.

Licences are mapped to the ids the `license` column and `media.licenses` use:

* YouTube's only alternative to its standard licence is "Creative Commons - Attribution", which YouTube
  defines as CC BY 3.0; yt-dlp reports it as "Creative Commons Attribution license (reuse allowed)". A probed
  YouTube video without that text is ``youtube-standard`` (not redistributable): when in doubt, never publish.
* Other platforms: a creativecommons.org licence URL or name becomes ``cc-by[-sa|-nd|-nc...]-<version>`` or
  ``cc0-1.0``; anything else stays None, and the list's declared `license` decides.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

YOUTUBE_CREATIVE_COMMONS = "cc-by-3.0"
YOUTUBE_STANDARD = "youtube-standard"
# Live now, scheduled (upcoming streams and premieres), and recordings of streams: unedited, often hours long.
LIVE_STATUSES = frozenset({"is_live", "is_upcoming", "was_live", "post_live"})
_CC_URL_RE = re.compile(r"creativecommons\.org/(?:licenses/(?P<kind>[a-z-]+)/(?P<version>\d\.\d)"
                        r"|publicdomain/(?P<zero>zero)/1\.0)", re.IGNORECASE)
_DATE_RE = re.compile(r"(\d{4})(\d{2})(\d{2})")


@dataclass(frozen=True)
class VideoMetadata:
    """The fields of one source video the metadata filters and the published `source_*` columns use."""

    video_id: str
    title: str = ""
    description: str = ""
    duration_s: float | None = None
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    license: str | None = None  # mapped licence id (see module docstring)
    upload_date: str | None = None  # ISO 8601 date
    channel_id: str | None = None
    availability: str | None = None
    live_status: str | None = None

    @classmethod
    def from_info(cls, video_id: str, info: dict[str, Any], source: str) -> VideoMetadata:
        """Read a (trimmed) yt-dlp info dict; ``source`` is the candidate's (``youtube`` maps licences)."""
        duration = info.get("duration")
        return cls(
            video_id=video_id,
            title=_text(info.get("title")),
            description=_text(info.get("description")),
            duration_s=float(duration) if isinstance(duration, (int, float)) and duration > 0 else None,
            categories=tuple(_text(c) for c in info.get("categories") or () if _text(c)),
            tags=tuple(_text(t) for t in info.get("tags") or () if _text(t)),
            license=platform_license(info.get("license"), source),
            upload_date=_iso_date(info.get("upload_date"), info.get("timestamp")),
            channel_id=_text(info.get("channel_id")) or None,
            availability=_text(info.get("availability")) or None,
            live_status=_live_status(info),
        )

    @property
    def text(self) -> str:
        """Title and description: what the keyword and language filters read."""
        return f"{self.title}\n{self.description}".strip()

    @property
    def category(self) -> str | None:
        return self.categories[0] if self.categories else None

    @property
    def is_live(self) -> bool:
        return self.live_status in LIVE_STATUSES


def platform_license(text: Any, source: str) -> str | None:
    """The licence id for a platform's licence text (module docstring), or None when it says nothing usable."""
    text = _text(text)
    if source == "youtube":
        return YOUTUBE_CREATIVE_COMMONS if "creative commons" in text.lower() else YOUTUBE_STANDARD
    match = _CC_URL_RE.search(text)
    if match is None:
        return None
    return "cc0-1.0" if match["zero"] else f"cc-{match['kind'].lower()}-{match['version']}"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _iso_date(upload_date: Any, timestamp: Any) -> str | None:
    match = _DATE_RE.fullmatch(_text(upload_date))
    if match:
        return "-".join(match.groups())
    if isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool):
        return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).date().isoformat()
    return None


def _live_status(info: dict[str, Any]) -> str | None:
    status = _text(info.get("live_status"))
    if status:
        return status
    if info.get("is_live") is True:  # older extractors report only the booleans
        return "is_live"
    if info.get("was_live") is True:
        return "was_live"
    return None
