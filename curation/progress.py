"""Status lines from deep inside a stage (e.g. a fetch waiting to retry) shown by whoever draws progress.

The executor installs a sink (its progress bar's postfix in-process; a printed line in worker processes),
so a run that waits on unreachable ids says so instead of looking frozen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

_sink: Callable[[str], None] | None = None
log = logging.getLogger("acav1m.progress")


def set_sink(sink: Callable[[str], None] | None) -> None:
    global _sink
    _sink = sink


def status(message: str) -> None:
    if _sink is not None:
        _sink(message)
    else:
        log.info(message)
