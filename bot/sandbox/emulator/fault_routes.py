"""Control routes for fault mode: GET/POST/DELETE /_emulator/faults, so another process can break Slack at run time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.sandbox.emulator.errors import EmulatorError
from bot.sandbox.emulator.faults import Fault, FaultMode

AddFault = Callable[..., Awaitable[Fault]]
ClearFaults = Callable[..., Awaitable[int]]
FAULT_FIELDS = frozenset({"kind", "methods", "status", "retry_after", "latency", "seconds"})


def add_fault_routes(app: web.Application, faults: FaultMode, add: AddFault, clear: ClearFaults) -> None:
    """Register the fault-mode routes (before the generic /_emulator/{action} route)."""

    async def listing(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "faults": faults.snapshot(), "injected": faults.injected})

    async def switch_on(request: web.Request) -> web.Response:
        try:
            body: Any = await request.json()
            if not isinstance(body, dict) or not set(body) <= FAULT_FIELDS:
                raise EmulatorError(f"a fault is a JSON object with fields among {sorted(FAULT_FIELDS)}")
            if body.get("kind") == "refuse" and body.get("seconds") is None:
                # The control API stops listening with everything else: without an end, nobody could switch it off.
                raise EmulatorError("a refuse fault set over HTTP needs `seconds`")
            fault = await add(**body)
        except (EmulatorError, TypeError, ValueError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True, "fault": fault.to_api(faults.clock())})

    async def switch_off(request: web.Request) -> web.Response:
        removed = await clear(kind=request.query.get("kind"), fault_id=request.match_info.get("fault_id"))
        return web.json_response({"ok": True, "removed": removed})

    app.router.add_get("/_emulator/faults", listing)
    app.router.add_post("/_emulator/faults", switch_on)
    app.router.add_delete("/_emulator/faults", switch_off)
    app.router.add_delete("/_emulator/faults/{fault_id}", switch_off)
    app.router.add_post("/_emulator/faults/clear", switch_off)
