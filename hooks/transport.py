"""The HTTP edge shared by hooks: one client shape and httpx errors translated into our error tree."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import httpx

from bot.connections import redact_url
from bot.errors import UpstreamError

DEFAULT_TIMEOUT_S = 10.0
USER_AGENT = "runbook-bot"


@cache
def default_ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every hook client: loading the CA bundle costs tens of ms of blocked loop."""
    return httpx.create_ssl_context()


def make_client(timeout_s: float = DEFAULT_TIMEOUT_S, **kwargs: Any) -> httpx.AsyncClient:
    """An httpx client with our user agent and one timeout for connect, read and write."""
    headers = {"User-Agent": USER_AGENT, **kwargs.pop("headers", {})}
    kwargs.setdefault("verify", default_ssl_context())
    # Proxies from the environment would silently route incident traffic elsewhere; hooks go direct.
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), headers=headers, trust_env=False, **kwargs)


@contextmanager
def translate_http_errors(system: str, url: str) -> Iterator[None]:
    """Turn httpx transport errors into UpstreamError naming the system, the address and what to check."""
    where = redact_url(url)
    try:
        yield
    except httpx.TimeoutException as exc:
        raise UpstreamError(f"{system} at {where} did not answer in time ({type(exc).__name__})") from exc
    except httpx.ConnectError as exc:
        raise UpstreamError(f"cannot reach {system} at {where}: {exc or 'connection failed'}; check the URL") from exc
    except httpx.HTTPError as exc:
        raise UpstreamError(f"{system} at {where} failed: {type(exc).__name__}: {exc}") from exc


def raise_for_status(response: httpx.Response, system: str) -> None:
    """Raise UpstreamError with the status and the start of the body when the response is not 2xx."""
    if response.is_success:
        return
    body = response.text[:300].strip()
    hint = {
        401: "; check the credentials",
        403: "; the credentials lack permission",
        404: "; check the URL or the object name",
        429: "; rate limited, retry later",
    }.get(response.status_code, "")
    raise UpstreamError(
        f"{system} answered HTTP {response.status_code} for {redact_url(str(response.request.url))}{hint}: {body}",
        status=response.status_code,
    )


def json_body(response: httpx.Response, system: str) -> Any:
    """The decoded JSON body, or UpstreamError when the answer is not JSON."""
    try:
        return response.json()
    except ValueError as exc:
        raise UpstreamError(f"{system} answered with a body that is not JSON: {response.text[:200]!r}") from exc
