"""One POST of JSON bytes: httpx (pooled keep-alive connections) when installed, else the standard library."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

try:
    import httpx
except ImportError:  # optional dependency: UrllibTransport serves without it
    httpx = None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


class TransportTimeout(Exception):
    """No response within the timeout."""


class TransportError(Exception):
    """The request never got an HTTP response (refused, reset, DNS)."""


class Transport(Protocol):
    def post(self, url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> HttpResponse: ...

    def close(self) -> None: ...


class UrllibTransport:
    """A new connection per request: no dependency, slower under load."""

    def post(self, url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> HttpResponse:
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return HttpResponse(response.status, _lower(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return HttpResponse(exc.code, _lower(exc.headers), exc.read())
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise TransportTimeout(str(exc.reason)) from exc
            raise TransportError(str(exc.reason)) from exc
        except TimeoutError as exc:
            raise TransportTimeout(str(exc)) from exc
        except OSError as exc:
            raise TransportError(str(exc)) from exc

    def close(self) -> None:
        """Nothing pooled."""


class HttpxTransport:
    """One thread-safe ``httpx.Client`` whose pool is sized to the concurrency limit."""

    def __init__(self, max_connections: int) -> None:
        if httpx is None:
            raise ImportError("HttpxTransport needs the httpx package; UrllibTransport works without it")
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._client = httpx.Client(limits=limits)

    def post(self, url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> HttpResponse:
        try:
            response = self._client.post(url, content=body, headers=dict(headers), timeout=timeout)
        except httpx.TimeoutException as exc:
            raise TransportTimeout(str(exc)) from exc
        except httpx.TransportError as exc:
            raise TransportError(str(exc)) from exc
        return HttpResponse(response.status_code, _lower(response.headers), response.content)

    def close(self) -> None:
        self._client.close()


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def default_transport(max_connections: int) -> Transport:
    """httpx if importable (keep-alive pays off at high concurrency), else urllib."""
    return HttpxTransport(max_connections) if httpx is not None else UrllibTransport()
