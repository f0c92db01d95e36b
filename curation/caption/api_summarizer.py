"""The summarizer role played by a remote chat model (the paper's GPT-4 step), fanned out over a thread pool."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from curation.caption.api_client import ChatCompletionsClient
from curation.caption.usage import UsageSnapshot
from curation.errors import ClipError


class ApiSummarizer:
    """One chat request per clip; per-clip failures come back as ClipError, a refused key raises ApiConfigError.

    Batches are four times the concurrency so one slow request does not leave the other workers idle for long.
    """

    def __init__(self, client: ChatCompletionsClient, model_id: str, concurrency: int) -> None:
        self.model_id = model_id
        self.batch_size = 4 * concurrency
        self._client = client
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="caption-api")

    def __repr__(self) -> str:
        return f"ApiSummarizer(model_id={self.model_id!r}, client={self._client!r})"

    @property
    def usage(self) -> UsageSnapshot:
        return self._client.usage

    def summarize(self, prompts: Sequence[str]) -> Sequence[str | ClipError]:
        futures = [self._pool.submit(self._one, prompt) for prompt in prompts]
        return [future.result() for future in futures]

    def _one(self, prompt: str) -> str | ClipError:
        try:
            return self._client.complete([{"role": "user", "content": prompt}])
        except ClipError as error:
            return error

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()
