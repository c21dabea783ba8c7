"""A thin Atlassian Statuspage REST v1 client: one request a second, 429/420 honoured with Retry-After.

Statuspage allows one request per second per API key and answers 420 or 429 beyond it. The client
spaces its own requests a second apart and, when refused anyway (another replica shares the key),
waits the Retry-After it was given and tries again, a bounded number of times.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bot.durable import Permanent
from bot.errors import UpstreamError

RATE_LIMITED = (420, 429)
Sleep = Callable[[float], Awaitable[None]]


class StatuspageClient:
    """Incidents and components of one page."""

    def __init__(
        self,
        base_url: str,
        page_id: str,
        api_key: str,
        *,
        min_interval_s: float = 1.0,
        max_rate_retries: int = 5,
        timeout_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.page_id = page_id
        self.min_interval_s = min_interval_s
        self.max_rate_retries = max_rate_retries
        self._monotonic = monotonic
        self._sleep = sleep
        self._last = -1e9
        self._lock = asyncio.Lock()
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers={"Authorization": f"OAuth {api_key}", "Content-Type": "application/json"},
            timeout=timeout_s,
            transport=transport,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def create_incident(self, fields: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/pages/{page_id}/incidents; returns the incident."""
        return await self._request("POST", f"pages/{self.page_id}/incidents", {"incident": fields})

    async def update_incident(self, incident_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """PATCH /v1/pages/{page_id}/incidents/{incident_id}; a new status or body adds an incident update."""
        return await self._request("PATCH", f"pages/{self.page_id}/incidents/{incident_id}", {"incident": fields})

    async def get_incident(self, incident_id: str) -> dict[str, Any]:
        """GET /v1/pages/{page_id}/incidents/{incident_id}."""
        return await self._request("GET", f"pages/{self.page_id}/incidents/{incident_id}")

    async def unresolved_incidents(self) -> list[dict[str, Any]]:
        """GET /v1/pages/{page_id}/incidents/unresolved."""
        found = await self._request_any("GET", f"pages/{self.page_id}/incidents/unresolved")
        return list(found) if isinstance(found, list) else []

    async def set_component_status(self, component_id: str, status: str) -> dict[str, Any]:
        """PATCH /v1/pages/{page_id}/components/{component_id} with a new status."""
        body = {"component": {"status": status}}
        return await self._request("PATCH", f"pages/{self.page_id}/components/{component_id}", body)

    async def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        found = await self._request_any(method, path, body)
        return dict(found) if isinstance(found, dict) else {"items": found}

    async def _request_any(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        for _ in range(self.max_rate_retries + 1):
            response = await self._send(method, path, body)
            if response.status_code not in RATE_LIMITED:
                return _result(method, path, response)
            await self._sleep(_retry_after(response))
        raise UpstreamError(f"statuspage: {method} {path} still rate limited after {self.max_rate_retries} waits")

    async def _send(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        # One request at a time, a second apart: the limit is per key, not per connection.
        async with self._lock:
            wait = self._last + self.min_interval_s - self._monotonic()
            if wait > 0:
                await self._sleep(wait)
            try:
                return await self._http.request(method, path, json=body)
            except httpx.HTTPError as exc:
                raise UpstreamError(f"statuspage: {method} {path}: {type(exc).__name__}: {exc}") from exc
            finally:
                # Counted from the answer: the server saw the request no later than that.
                self._last = self._monotonic()


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(60.0, max(1.0, float(response.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0


def _result(method: str, path: str, response: httpx.Response) -> Any:
    if response.is_success:
        return response.json()
    message = f"statuspage: {method} {path} answered {response.status_code}: {response.text[:200]}"
    if response.status_code >= 500:
        raise UpstreamError(message)
    # 401, 403, 404, 422: no retry can fix a refused key, a missing page or a rejected body.
    raise Permanent(message)
