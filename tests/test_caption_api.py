"""The chat-completions client against a local OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import email.utils
import json
import logging
import threading
import time

import pytest
from chat_server import ChatServer, Reply, completion

from curation.caption import http_transport
from curation.caption.api_client import ApiConfigError, ChatCompletionsClient, _retry_after_s
from curation.caption.api_summarizer import ApiSummarizer
from curation.caption.config import ApiConfig
from curation.caption.http_transport import HttpxTransport, Transport, UrllibTransport
from curation.errors import ClipError

KEY = "sk-test-DO-NOT-LEAK-4f9a2c"


def config_for(server: ChatServer, **overrides: object) -> ApiConfig:
    settings: dict[str, object] = dict(
        base_url=server.base_url, model="local-model", api_key=KEY, backoff_base_s=0.001, timeout_s=5.0
    )
    settings.update(overrides)
    return ApiConfig(**settings)  # type: ignore[arg-type]


@pytest.fixture(params=["httpx", "urllib"])
def transport(request: pytest.FixtureRequest) -> Transport:
    if request.param == "httpx":
        pytest.importorskip("httpx")
    made: Transport = HttpxTransport(8) if request.param == "httpx" else UrllibTransport()
    yield made
    made.close()


def ask(client: ChatCompletionsClient) -> str:
    return client.complete([{"role": "user", "content": "Summarize."}])


def test_success_sends_the_request_and_counts_usage(transport: Transport) -> None:
    with ChatServer() as server:
        config = config_for(server, price_prompt_per_1k=0.03, price_completion_per_1k=0.06, temperature=0.0)
        client = ChatCompletionsClient(config, transport=transport)
        assert ask(client) == "A dog barks in a park, reply 0."
        assert ask(client) == "A dog barks in a park, reply 1."
    assert server.requests[0]["model"] == "local-model"
    assert server.requests[0]["messages"] == [{"role": "user", "content": "Summarize."}]
    assert server.requests[0]["temperature"] == 0.0
    assert server.headers[0]["Authorization"] == f"Bearer {KEY}"
    usage = client.usage
    assert (usage.requests, usage.succeeded, usage.failed, usage.retries) == (2, 2, 0, 0)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (40, 20, 60)
    assert usage.cost_usd == pytest.approx(40 / 1000 * 0.03 + 20 / 1000 * 0.06)


def test_429_then_success_honours_retry_after(transport: Transport) -> None:
    def script(number: int, request: dict) -> Reply:
        if number == 0:
            return Reply(status=429, body=b'{"error": "slow down"}', headers={"Retry-After": "0.05"})
        return Reply(body=completion("A bell rings."))

    slept: list[float] = []
    with ChatServer(script) as server:
        client = ChatCompletionsClient(config_for(server), transport=transport, sleep=slept.append)
        assert ask(client) == "A bell rings."
    assert len(server.requests) == 2
    assert slept and slept[0] >= 0.05
    assert client.usage.retries == 1 and client.usage.succeeded == 1


def test_persistent_500_fails_after_the_retries(transport: Transport) -> None:
    with ChatServer(lambda n, r: Reply(status=500, body=b"upstream broke")) as server:
        slept: list[float] = []
        client = ChatCompletionsClient(config_for(server, max_retries=3), transport=transport, sleep=slept.append)
        with pytest.raises(ClipError) as caught:
            ask(client)
    assert caught.value.reason == "caption_api_error"
    assert "HTTP 500" in caught.value.detail and "4 attempts" in caught.value.detail
    assert len(server.requests) == 4
    assert slept == sorted(slept), "backoff grows"
    assert client.usage.failed == 1 and client.usage.retries == 3


def test_timeout_is_retried_then_reported(transport: Transport) -> None:
    with ChatServer(lambda n, r: Reply(body=completion("late"), delay_s=1.0)) as server:
        client = ChatCompletionsClient(config_for(server, timeout_s=0.2, max_retries=1), transport=transport)
        started = time.monotonic()
        with pytest.raises(ClipError) as caught:
            ask(client)
        elapsed = time.monotonic() - started
    assert caught.value.reason == "caption_api_error"
    assert "Timeout" in caught.value.detail
    assert elapsed < 1.5
    assert client.usage.requests == 2


@pytest.mark.parametrize(
    ("body", "reason", "detail"),
    [
        (b"{not json", "caption_api_error", "malformed JSON"),
        (b"[1, 2]", "caption_api_error", "not a JSON object"),
        (
            json.dumps({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 0}}).encode(),
            "caption_api_error",
            "no choices",
        ),
        (completion("   "), "empty_caption", "empty message content"),
        (
            json.dumps({"choices": [{"message": {"content": None}, "finish_reason": "content_filter"}]}).encode(),
            "empty_caption",
            "content_filter",
        ),
    ],
)
def test_malformed_or_empty_answers_are_clip_errors_without_retry(body: bytes, reason: str, detail: str) -> None:
    with ChatServer(lambda n, r: Reply(body=body)) as server:
        client = ChatCompletionsClient(config_for(server))
        with pytest.raises(ClipError) as caught:
            ask(client)
    assert caught.value.reason == reason and detail in caught.value.detail
    assert len(server.requests) == 1
    assert client.usage.failed == 1


def test_empty_choices_still_counts_the_tokens_paid() -> None:
    body = json.dumps({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 0}}).encode()
    with ChatServer(lambda n, r: Reply(body=body)) as server:
        client = ChatCompletionsClient(config_for(server))
        with pytest.raises(ClipError):
            ask(client)
    assert client.usage.prompt_tokens == 5


def test_client_errors_are_not_retried_and_auth_errors_stop_the_run() -> None:
    with ChatServer(lambda n, r: Reply(status=400, body=b'{"error": "context too long"}')) as server:
        with pytest.raises(ClipError, match="HTTP 400"):
            ask(ChatCompletionsClient(config_for(server)))
        assert len(server.requests) == 1
    with ChatServer(lambda n, r: Reply(status=401, body=b'{"error": "bad key"}')) as server:
        with pytest.raises(ApiConfigError, match="401"):
            ask(ChatCompletionsClient(config_for(server)))
        assert len(server.requests) == 1


def test_summarizer_respects_the_concurrency_limit() -> None:
    with ChatServer(lambda n, r: Reply(body=completion(f"Caption {n}."), delay_s=0.05)) as server:
        summarizer = ApiSummarizer(ChatCompletionsClient(config_for(server, concurrency=3)), "local-model", 3)
        outputs = summarizer.summarize([f"prompt {i}" for i in range(12)])
        summarizer.close()
    assert len(outputs) == 12 and all(isinstance(text, str) for text in outputs)
    assert server.max_in_flight == 3
    assert summarizer.batch_size == 12


def test_client_caps_requests_in_flight_across_threads(transport: Transport) -> None:
    with ChatServer(lambda n, r: Reply(body=completion("ok"), delay_s=0.03)) as server:
        client = ChatCompletionsClient(config_for(server, concurrency=2), transport=transport)
        threads = [threading.Thread(target=ask, args=(client,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(server.requests) == 8
    assert server.max_in_flight == 2


def test_summarizer_returns_per_clip_errors_in_order() -> None:
    def script(number: int, request: dict) -> Reply:
        prompt = request["messages"][0]["content"]
        return Reply(body=b"{bad") if prompt == "bad" else Reply(body=completion(f"Echo {prompt}."))

    with ChatServer(script) as server:
        summarizer = ApiSummarizer(ChatCompletionsClient(config_for(server)), "local-model", 4)
        outputs = summarizer.summarize(["a", "bad", "c"])
        summarizer.close()
    assert outputs[0] == "Echo a." and outputs[2] == "Echo c."
    assert isinstance(outputs[1], ClipError) and outputs[1].reason == "caption_api_error"


def test_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACAV1M_LLM_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai-env")
    assert ApiConfig().resolve_key().reveal() == "sk-from-openai-env"
    monkeypatch.setenv("ACAV1M_LLM_API_KEY", "sk-from-acav-env")
    assert ApiConfig().resolve_key().reveal() == "sk-from-acav-env"
    assert ApiConfig(api_key="sk-explicit").resolve_key().reveal() == "sk-explicit"
    monkeypatch.delenv("ACAV1M_LLM_API_KEY")
    monkeypatch.delenv("OPENAI_API_KEY")
    assert ApiConfig().resolve_key() is None
    with ChatServer() as server:
        ask(ChatCompletionsClient(config_for(server, api_key=None)))
    assert "Authorization" not in server.headers[0]


def test_key_never_appears_in_logs_reprs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def script(number: int, request: dict) -> Reply:
        echo = f"auth was {KEY}".encode()  # a hostile or careless server echoing the key back
        return [Reply(status=429, body=echo), Reply(status=500, body=echo), Reply(status=401, body=echo)][number % 3]

    with ChatServer(script) as server:
        config = config_for(server, max_retries=1)
        client = ChatCompletionsClient(config)
        summarizer = ApiSummarizer(client, config.model, 2)
        with pytest.raises(ClipError) as clip_error:
            ask(client)
        with pytest.raises(ApiConfigError) as config_error:
            ask(client)
        summarizer.close()
    assert server.headers[0]["Authorization"] == f"Bearer {KEY}"
    texts = [
        caplog.text,
        repr(config),
        str(config),
        repr(dataclasses.asdict(config)),
        repr(client),
        repr(summarizer),
        str(clip_error.value),
        str(config_error.value),
        repr(vars(client)),
    ]
    for text in texts:
        assert KEY not in text
    assert "***" in str(clip_error.value)


def test_retry_after_parses_seconds_and_http_dates() -> None:
    assert _retry_after_s({"retry-after": "3"}) == 3.0
    assert _retry_after_s({"retry-after-ms": "250", "retry-after": "3"}) == 0.25
    assert _retry_after_s({}) is None
    assert _retry_after_s({"retry-after": "soon"}) is None
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < _retry_after_s({"retry-after": future}) <= 30


def test_urllib_serves_when_httpx_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_transport, "httpx", None)
    assert isinstance(http_transport.default_transport(4), UrllibTransport)
    with pytest.raises(ImportError):
        HttpxTransport(4)
