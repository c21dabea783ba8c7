"""`runbookctl sandbox`: the bot against the built-in Slack emulator and embedded store, with a demo alert."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import sys

import httpx

from bot.cli.base import Command
from bot.connections import connect, delete_matching
from bot.errors import BotError
from bot.logs import configure_logging
from bot.sandbox.demo import demo_alert
from bot.sandbox.demo_service import FAULTS
from bot.sandbox.session import start_demo_sandbox
from bot.sandbox.stack import SANDBOX_WEBHOOK_TOKEN, SandboxStack
from bot.sandbox.statefile import SANDBOX_PREFIX, SandboxState, read_state, write_state
from bot.sandbox.terminal import TranscriptStream, render_channel
from bot.settings import Settings, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `runbookctl sandbox`."""
    parser.add_argument("--port", type=int, default=8080, help="webhook port (0 picks a free one)")
    parser.add_argument("--once", action="store_true", help="show the demo incident, then exit")
    parser.add_argument("--no-demo", action="store_true", help="do not fire the demo alert")
    parser.add_argument("--rate-limits", action="store_true", help="make the emulator enforce Slack's rate tiers")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the demo's plan")
    parser.add_argument("--fresh", action="store_true", help="delete the sandbox's incidents before starting")


async def reset_sandbox_store(settings: Settings) -> None:
    """`--fresh`: forget every incident of the sandbox (kept across restarts otherwise)."""
    handle = await connect(settings.redis_url, settings.data_dir)
    try:
        await delete_matching(handle.client, f"{SANDBOX_PREFIX}:*")
    finally:
        await handle.close()


async def fire_demo(stack: SandboxStack, storefront_url: str, wait_s: float) -> str:
    """Post the demo alert as Alertmanager would, wait for the plan, and return the channel transcript."""
    async with httpx.AsyncClient(base_url=stack.webhook_url, timeout=10) as client:
        response = await client.post(
            "/alerts/alertmanager",
            content=json.dumps(demo_alert(storefront_url)),
            headers={"Authorization": f"Bearer {SANDBOX_WEBHOOK_TOKEN}", "Content-Type": "application/json"},
        )
    response.raise_for_status()
    incident_id = response.json()["alerts"][0]["incident"]
    emulator = stack.emulator
    channel = await emulator.wait_until(
        lambda: next((c for c in emulator.channels() if c.name.startswith(f"inc-{incident_id[4:]}-")), None),
        wait_s,
        f"the channel of {incident_id}",
    )
    await emulator.wait_for_message(channel.id, "step", timeout=wait_s)
    if stack.bot.services is not None:
        await stack.bot.services.tasks.join(within=wait_s)
    return render_channel(channel.name, channel.topic, emulator.messages(channel.id))


def banner(stack: SandboxStack, shop_url: str = "") -> str:
    """What is running and how to poke it."""
    url = stack.webhook_url
    store = stack.settings.redis_url or f"embedded Valkey in {stack.settings.data_dir}/valkey"
    example = '{"name":"DiskFull","service":"db","title":"disk 95% full"}'
    return "\n".join(
        [
            f"Open the workspace in a browser: {stack.emulator.page_url}",
            "",
            "runbook-bot sandbox is running",
            f"  Slack emulator   {stack.emulator.base_url}  (state: GET {stack.emulator.base_url}/_emulator/state)",
            f"  alert webhooks   {url}/alerts/<source>   token: {SANDBOX_WEBHOOK_TOKEN}",
            f"  health, metrics  {url}/healthz  {url}/readyz  {url}/metrics",
            f"  store            {store}",
            *([f"  demo shop        {shop_url}/admin/state  (faults: {', '.join(FAULTS)})"] if shop_url else []),
            "",
            "Fire a demo scenario from the page's panel, or run one as a scripted game day:",
            "  runbookctl drill --scenario db-pool-exhausted",
            "Fire an alert:",
            f"  curl -s -H 'Authorization: Bearer {SANDBOX_WEBHOOK_TOKEN}' -H 'Content-Type: application/json' \\",
            f"       -d '{example}' {url}/alerts/generic",
            "Type a slash command as alice:",
            f"  curl -s -X POST {stack.emulator.base_url}/_emulator/slash_command \\",
            '       -d \'{"user":"alice","channel":"incidents","text":"list"}\'',
        ]
    )


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on host:port (checked before any store or server starts)."""
    if port == 0:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


async def run_sandbox(args: argparse.Namespace) -> int:
    """Start everything, fire the demo, stream the workspace, then serve until Ctrl-C, SIGTERM or SIGHUP."""
    settings = load_settings()
    if port_in_use(settings.http_host, args.port):
        print(f"runbookctl sandbox: port {args.port} is in use (is a sandbox already running?)", file=sys.stderr)
        return 1
    earlier = read_state(settings.data_dir)
    if earlier is not None and earlier.running() and earlier.pid != os.getpid():
        where = earlier.page_url or earlier.webhook_url
        print(
            f"runbookctl sandbox: a sandbox is already running on this data folder (pid {earlier.pid}, {where})",
            file=sys.stderr,
        )
        return 1
    if args.fresh:
        await reset_sandbox_store(settings)
    demo = await start_demo_sandbox(settings, prefix=SANDBOX_PREFIX, http_port=args.port, rate_limits=args.rate_limits)
    stack = demo.stack
    redis = stack.bot.redis
    write_state(
        settings.data_dir,
        SandboxState(
            os.getpid(),
            redis.url if redis else "",
            SANDBOX_PREFIX,
            embedded=settings.redis_url is None,
            webhook_url=stack.webhook_url,
            page_url=stack.emulator.page_url,
        ),
    )
    stop = asyncio.Event()
    # Closing the terminal (SIGHUP) stops the sandbox and its embedded Valkey as Ctrl-C does.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    transcript = TranscriptStream(stack.emulator.workspace, lambda line: print(line, flush=True))
    streaming: asyncio.Task[None] | None = None
    try:
        print(banner(stack, demo.service.url), flush=True)
        print("\nEvery message of the workspace appears below as it is posted.", flush=True)
        streaming = asyncio.create_task(transcript.run(stop))
        if not args.no_demo:
            print("\nDemo alert fired (CheckoutLatencyHigh).", flush=True)
            await fire_demo(stack, demo.storefront_url, args.timeout)
        if not args.once:
            print(f"\nCtrl-C stops the sandbox. The page: {stack.emulator.page_url}", flush=True)
            await stop.wait()
    finally:
        stop.set()
        if streaming is not None:
            await streaming
        await demo.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    """Entry point: quiet logs (warnings and up) so the transcript stays readable."""
    configure_logging("WARNING", "text")
    logging.getLogger("bot.runbooks.watcher").setLevel(logging.INFO)  # a runbook reload is news worth a line
    try:
        return asyncio.run(run_sandbox(args))
    except (TimeoutError, BotError) as exc:
        print(f"runbookctl sandbox: {exc}", file=sys.stderr)
        return 1


COMMAND = Command("sandbox", "Run the bot against the built-in Slack emulator and embedded store.", run, add_arguments)
