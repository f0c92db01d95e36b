"""Turn raw model text into a clean caption: models wrap answers in prefixes, quotes and extra sentences."""

from __future__ import annotations

import re
import unicodedata

from curation.errors import ClipError

_LEAD_IN = re.compile(r"\A[^\n:]{0,80}\b(?:here\s+is|here's|here\s+are)\b[^\n:]{0,80}:\s*", re.IGNORECASE)
_LABEL = re.compile(
    r"\A(?:\*\*|__)?\s*(?:final\s+|one[- ]sentence\s+|short\s+|merged\s+|combined\s+)?"
    r"(?:caption|summary|description|answer|output|sentence|response|assistant)\s*(?:\*\*|__)?\s*[:：]\s*(?:\*\*|__)?\s*",
    re.IGNORECASE,
)
_WRAPPED = re.compile(r"([\"'“‘«„「`*]+)(.+?)([\"'”’»“」`*]+)([.!?]?)", re.DOTALL)
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]*_]*(?=\s|$)|[。！？]")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "no", "approx"}
_CUT_TRAILING = " ,;:-–—"


def normalize_text(text: str) -> str:
    """NFC, no control or zero-width characters, no lead-in/label/quotes, single spaces."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if ch in "\n\t " or unicodedata.category(ch) not in ("Cc", "Cf"))
    previous = None
    while previous != text:
        previous = text
        text = text.strip()
        text = _LEAD_IN.sub("", text, count=1)
        text = _LABEL.sub("", text, count=1)
        wrapped = _WRAPPED.fullmatch(text)
        if wrapped:
            text = wrapped.group(2) + wrapped.group(4)
    return " ".join(text.split())


def first_sentence(text: str) -> str:
    """Cut after the first sentence end that is not an abbreviation (``Mr.``) or an initial (``J.``)."""
    for match in _SENTENCE_END.finditer(text):
        words = text[: match.start()].split()
        last = words[-1].lower().lstrip("(\"'“") if words else ""
        if match.group().startswith(".") and (last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())):
            continue
        return text[: match.end()]
    return text


def cap_length(text: str, max_chars: int) -> str:
    """At most ``max_chars``, cut at a word boundary when there is one in the second half."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ")
    if space > max_chars // 2:
        cut = cut[:space]
    return cut.rstrip(_CUT_TRAILING)


def clean_caption(text: str, max_chars: int) -> str:
    """The final one-sentence caption; raises ClipError('empty_caption') when nothing is left."""
    caption = cap_length(normalize_text(first_sentence(normalize_text(text))), max_chars)
    if not any(ch.isalnum() for ch in caption):
        raise ClipError("empty_caption", f"no caption left after post-processing {text[:80]!r}")
    return caption


def clean_description(text: str, max_chars: int) -> str:
    """A per-modality description (may keep several sentences); raises ClipError('empty_caption') when empty."""
    description = cap_length(normalize_text(text), max_chars)
    if not any(ch.isalnum() for ch in description):
        raise ClipError("empty_caption", f"empty description {text[:80]!r}")
    return description
