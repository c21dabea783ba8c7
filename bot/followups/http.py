"""Tracker HTTP calls: network errors, 429 and 5xx may pass (retry); other refusals never will (give up)."""

from __future__ import annotations

from typing import Any

import httpx

from bot.durable import Permanent
from bot.errors import UpstreamError


async def send(client: httpx.AsyncClient, tracker: str, method: str, url: str, **kwargs: Any) -> Any:
    """One request; returns the JSON body of a 2xx, else raises UpstreamError (retry) or Permanent."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise UpstreamError(f"{tracker}: {method} {url}: {type(exc).__name__}: {exc}") from exc
    if response.is_success:
        return response.json() if response.content else {}
    message = f"{tracker}: {method} {url} answered {response.status_code}: {response.text[:300]}"
    if response.status_code == 429 or response.status_code >= 500:
        raise UpstreamError(message)
    raise Permanent(message)
