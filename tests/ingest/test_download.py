"""AkeneoClient.download, pure HTTP behaviour (no peer): a redirect is followed without the token going
off-origin, and an empty body is not a file."""

from __future__ import annotations

import io

import httpx
import pytest

from iec_pipeline.ingest.akeneo import AkeneoClient, AkeneoUnavailable, RetryPolicy

pytestmark = pytest.mark.fast


def client(handler) -> AkeneoClient:
    akeneo = AkeneoClient("http://akeneo.test", "id", "secret", "user", "canary-pass-93",
                          retry=RetryPolicy(max_attempts=2), sleep=lambda seconds: None)  # fmt: skip
    akeneo._http = httpx.Client(transport=httpx.MockTransport(handler))
    return akeneo


def token(request: httpx.Request) -> httpx.Response | None:
    if request.url.path == "/api/oauth/v1/token":
        return httpx.Response(200, json={"access_token": "tok-1", "refresh_token": "r", "expires_in": 3600})
    return None


def test_a_redirected_download_is_followed_and_the_token_stays_with_akeneo():
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("Authorization")))
        if (answer := token(request)) is not None:
            return answer
        if request.url.host == "akeneo.test":
            return httpx.Response(302, headers={"Location": "http://files.example/a/b/shirt.png"})
        body = b"\x89PNG..."
        headers = {"Content-Type": "image/png", "Content-Length": str(len(body))}
        return httpx.Response(200, stream=httpx.ByteStream(body), headers=headers)  # as a server streams it

    sink = io.BytesIO()
    got = client(handler).download("media-files/a/b/shirt.png/download", sink)
    assert sink.getvalue() == b"\x89PNG..." and got.size == 7
    assert ("files.example", None) in seen  # no Authorization sent to the other host


def test_an_empty_body_is_retried_then_unavailable():
    def handler(request: httpx.Request) -> httpx.Response:
        return token(request) or httpx.Response(200, content=b"")

    with pytest.raises(AkeneoUnavailable, match="empty body"):
        client(handler).download("media-files/x/download", io.BytesIO())
