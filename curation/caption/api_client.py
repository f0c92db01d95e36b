"""A client for OpenAI-compatible ``/chat/completions``: retries, backoff, a concurrency cap and usage accounting.

The API key is held as a ``Secret`` and only ever placed in the Authorization header; error texts are scrubbed of
it before they reach a ClipError or a log line.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from curation.caption.config import ApiConfig
from curation.caption.http_transport import Transport, TransportError, TransportTimeout, default_transport
from curation.caption.usage import UsageMeter, UsageSnapshot
from curation.errors import ClipError

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 409, 429})
FATAL_STATUS = frozenset({401, 403, 404})


class ApiConfigError(RuntimeError):
    """The endpoint refuses every request (bad key, no access, wrong URL or model): stop the run, not one clip."""


class ChatCompletionsClient:
    """Thread-safe; at most ``config.concurrency`` requests are in flight across all threads using it."""

    def __init__(
        self,
        config: ApiConfig,
        transport: Transport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._config = config
        self._url = config.base_url.rstrip("/") + "/chat/completions"
        self._key = config.resolve_key()
        self._transport = transport or default_transport(config.concurrency)
        self._slots = threading.BoundedSemaphore(config.concurrency)
        self._sleep = sleep
        self._usage = UsageMeter(config.price_prompt_per_1k, config.price_completion_per_1k)

    def __repr__(self) -> str:
        config = self._config
        return f"ChatCompletionsClient(url={self._url!r}, model={config.model!r}, concurrency={config.concurrency})"

    @property
    def usage(self) -> UsageSnapshot:
        return self._usage.snapshot()

    def close(self) -> None:
        self._transport.close()

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The first choice's text; ClipError('caption_api_error' / 'empty_caption') when there is none."""
        try:
            text = self._complete(messages)
        except BaseException:
            self._usage.outcome(ok=False)
            raise
        self._usage.outcome(ok=True)
        return text

    def _complete(self, messages: list[dict[str, str]]) -> str:
        body = json.dumps(
            {
                "model": self._config.model,
                "messages": messages,
                "temperature": self._config.temperature,
                "max_tokens": self._config.max_tokens,
            }
        ).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._key is not None:
            headers["Authorization"] = f"Bearer {self._key.reveal()}"
        attempts = self._config.max_retries + 1
        for attempt in range(attempts):
            self._usage.request(retry=attempt > 0)
            try:
                with self._slots:
                    response = self._transport.post(self._url, headers, body, self._config.timeout_s)
            except (TransportTimeout, TransportError) as exc:
                failure, retry_after = self._scrub(f"{type(exc).__name__}: {exc}"), None
            else:
                if response.status == 200:
                    return self._parse(response.body)
                failure = self._scrub(f"HTTP {response.status}: {response.body[:200].decode('utf-8', 'replace')}")
                if response.status in FATAL_STATUS:
                    raise ApiConfigError(f"{self._url} refused the request ({failure})")
                if response.status not in RETRYABLE_STATUS and response.status < 500:
                    raise ClipError("caption_api_error", failure)
                retry_after = _retry_after_s(response.headers)
            if attempt + 1 < attempts:
                delay = self._backoff(attempt, retry_after)
                log.warning(
                    "chat completion failed (%s); retry %d/%d in %.2fs", failure, attempt + 1, attempts - 1, delay
                )
                self._sleep(delay)
        raise ClipError("caption_api_error", f"{failure} (gave up after {attempts} attempts)")

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential with jitter, or the server's Retry-After when it asks for longer; capped."""
        delay = self._config.backoff_base_s * (2**attempt) * random.uniform(0.5, 1.0)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self._config.backoff_max_s)

    def _parse(self, raw: bytes) -> str:
        try:
            data = json.loads(raw)
        except ValueError:
            raise ClipError("caption_api_error", f"malformed JSON in response: {raw[:80]!r}") from None
        if not isinstance(data, dict):
            raise ClipError("caption_api_error", "response is not a JSON object")
        self._record_usage(data.get("usage"))
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ClipError("caption_api_error", "response has no choices")
        message = choices[0].get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str) or not content.strip():
            reason = choices[0].get("finish_reason")
            raise ClipError("empty_caption", f"empty message content (finish_reason={reason!r})")
        return content

    def _record_usage(self, usage: Any) -> None:
        if not isinstance(usage, Mapping):
            return
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(prompt, int) and isinstance(completion, int):
            total = usage.get("total_tokens")
            self._usage.tokens(prompt, completion, total if isinstance(total, int) else None)

    def _scrub(self, text: str) -> str:
        return text.replace(self._key.reveal(), "***") if self._key is not None and self._key.reveal() else text


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait: OpenAI's ``retry-after-ms``, else Retry-After as delta-seconds or an HTTP-date."""
    try:
        return max(float(headers["retry-after-ms"]) / 1000, 0.0)
    except (KeyError, ValueError):
        pass
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
