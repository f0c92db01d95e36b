"""Per-clip failures: raised by any stage, recorded in the run's errors table, never fatal to a run."""

from __future__ import annotations


class ClipError(Exception):
    """A clip cannot go on through the pipeline; ``reason`` is a short machine-readable code.

    ``detail`` is free text for humans (file, position, decoder message).
    Reasons in use: ``missing_audio``, ``missing_video``, ``too_short``, ``corrupt``, ``not_video``,
    ``empty_file``, ``frame_too_large``, ``invalid_video_id``, ``unsafe_path``, ``http_404``, ``http_5xx``,
    ``http_error``, ``blocked`` (403 / bot check), ``rate_limited`` (429 after retries), ``missing_file``,
    ``timeout``, ``download_failed``, ``caption_failed``, ``empty_caption``; input rows: ``malformed_row``,
    ``duplicate``; metadata filters (stage ``metadata``, curation/metadata/filters.py): ``duration_out_of_range``,
    ``live_or_premiere``, ``excluded_category``, ``excluded_keyword``, ``excluded_language``.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class ContractError(Exception):
    """A stage broke the pipeline's contract (e.g. wrote an undeclared column): a bug, not a bad clip.

    Executors record a clip's failures as error rows and go on, but a ContractError stops the run: turning a
    bug into thousands of error rows would hide it.
    """


class UndeclaredColumn(ContractError, KeyError):
    """A stage wrote a column that builder/schema.py does not declare."""
