"""An HTTP control surface under /_emulator/ so drills and other processes can drive and read the emulator."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.sandbox.emulator.delivery import Delivery
from bot.sandbox.emulator.driver import Driver
from bot.sandbox.emulator.errors import EmulatorError
from bot.sandbox.emulator.outcome import Snapshot, collect
from bot.sandbox.emulator.socket_mode import SocketHub
from bot.sandbox.emulator.state import Workspace

DEFAULT_WAIT_S = 2.0


def _delivery(delivery: Delivery | None) -> dict[str, Any]:
    if delivery is None:
        return {"delivery": None}
    return {"delivery": {"id": delivery.id, "type": delivery.type, "envelope_ids": delivery.envelope_ids}}


def _state(ws: Workspace) -> dict[str, Any]:
    return {
        "team_id": ws.team_id,
        "bot_user_id": ws.bot_user_id,
        "users": [u.to_api(ws.team_id) for u in ws.users.values()],
        "channels": [
            {**c.to_api(ws.bot_user_id), "members": c.members, "messages": [m.to_api() for m in c.messages]}
            for c in ws.channels.values()
        ],
        "ephemerals": [vars(e) | {"edits": len(e.edits)} for e in ws.ephemerals],
        "views": [
            {"id": v.id, "user_id": v.user_id, "closed": v.closed, "definition": v.definition}
            for v in ws.views.values()
        ],
    }


def add_control_routes(app: web.Application, ws: Workspace, driver: Driver, hub: SocketHub) -> None:
    """Register GET /_emulator/state and POST /_emulator/<driver action> on the application."""

    async def state(request: web.Request) -> web.Response:
        return web.json_response(_state(ws))

    async def answered(body: dict[str, Any], call: Any) -> dict[str, Any]:
        # Wait briefly for the ack and what the bot sends back, so the caller sees the reply.
        wait_s = float(body.pop("wait", DEFAULT_WAIT_S))
        before = Snapshot.take(
            ws, ws.user_or_raise(str(body.get("user"))).id, ws.channel_or_raise(str(body.get("channel")))
        )
        delivery = await call(**body)
        outcome = await collect(ws, delivery, before, wait_s)
        return {**_delivery(delivery), **outcome}

    async def submitted(body: dict[str, Any]) -> dict[str, Any]:
        # Wait briefly for the ack, whose response_action decides whether the form closed or shows errors.
        wait_s = float(body.pop("wait", DEFAULT_WAIT_S))
        delivery = await driver.submit_view(**body)
        acked = await delivery.wait(wait_s)
        view = ws.views[str(body["view_id"])]
        ws.notify()
        return {**_delivery(delivery), "acked": acked, "closed": view.closed, "errors": dict(view.errors)}

    async def delivered(pending: Awaitable[Delivery | None]) -> dict[str, Any]:
        return _delivery(await pending)

    async def posted(body: dict[str, Any]) -> dict[str, Any]:
        message = await driver.post_user_message(**body)
        return {"ts": message.message.ts, "deliveries": [_delivery(d)["delivery"] for d in message.deliveries]}

    async def disconnect(body: dict[str, Any]) -> dict[str, Any]:
        return {"sockets": await hub.disconnect(**body)}

    handlers: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
        "slash_command": lambda body: answered(body, driver.slash_command),
        "click_button": lambda body: answered(body, driver.click_button),
        "choose_option": lambda body: answered(body, driver.choose_option),
        "submit_view": submitted,
        "close_view": lambda body: delivered(driver.close_view(**body)),
        "open_home": lambda body: delivered(driver.open_home(**body)),
        "click_view_button": lambda body: delivered(driver.click_view_button(**body)),
        "post_user_message": posted,
        "add_reaction": lambda body: delivered(driver.add_reaction(**body)),
        "remove_reaction": lambda body: delivered(driver.remove_reaction(**body)),
        "disconnect": disconnect,
    }

    async def act(request: web.Request) -> web.Response:
        action = request.match_info["action"]
        handler = handlers.get(action)
        if handler is None:
            return web.json_response({"ok": False, "error": f"unknown action {action}"}, status=404)
        body: dict[str, Any] = await request.json() if request.body_exists else {}
        try:
            result = await handler(body)
        except (EmulatorError, TypeError, ValueError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True, **result})

    app.router.add_get("/_emulator/state", state)
    app.router.add_post("/_emulator/{action}", act)
