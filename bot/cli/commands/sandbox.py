"""`runbookctl sandbox`: the bot against the built-in Slack emulator and embedded store, with a demo alert."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

import httpx

from bot.cli.base import Command
from bot.connections import connect, delete_matching
from bot.logs import configure_logging
from bot.sandbox.demo import Storefront, demo_alert, demo_scenarios
from bot.sandbox.stack import SANDBOX_WEBHOOK_TOKEN, SandboxStack, start_sandbox
from bot.sandbox.terminal import TranscriptStream, render_channel
from bot.settings import Settings, load_settings

SANDBOX_PREFIX = "sandbox"
SANDBOX_ESCALATION = Path(__file__).resolve().parents[2] / "sandbox" / "escalation"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `runbookctl sandbox`."""
    parser.add_argument("--port", type=int, default=8080, help="webhook port (0 picks a free one)")
    parser.add_argument("--once", action="store_true", help="show the demo incident, then exit")
    parser.add_argument("--no-demo", action="store_true", help="do not fire the demo alert")
    parser.add_argument("--rate-limits", action="store_true", help="make the emulator enforce Slack's rate tiers")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the demo's plan")


async def reset_sandbox_store(settings: Settings) -> None:
    """The emulated Slack starts empty each run, so the sandbox's incidents do too."""
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


def banner(stack: SandboxStack) -> str:
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
            "",
            "Fire an alert:",
            f"  curl -s -H 'Authorization: Bearer {SANDBOX_WEBHOOK_TOKEN}' -H 'Content-Type: application/json' \\",
            f"       -d '{example}' {url}/alerts/generic",
            "Type a slash command as alice:",
            f"  curl -s -X POST {stack.emulator.base_url}/_emulator/slash_command \\",
            '       -d \'{"user":"alice","channel":"incidents","text":"list"}\'',
        ]
    )


async def run_sandbox(args: argparse.Namespace) -> int:
    """Start everything, fire the demo, show the channel, then serve until Ctrl-C (or exit with --once)."""
    settings = load_settings()
    await reset_sandbox_store(settings)
    storefront = Storefront()
    storefront_url = await storefront.start()
    stack = await start_sandbox(
        redis_url=settings.redis_url,
        data_dir=settings.data_dir,
        runbooks_path=settings.runbooks_path,
        redis_prefix=SANDBOX_PREFIX,
        http_port=args.port,
        rate_limits=args.rate_limits,
        shell_allowlist=sorted({*settings.shell_allowlist, "echo", "uptime"}),
        # The demo alert points the storefront check at this exact loopback address, and nowhere else.
        http_allowed_hosts=[*settings.http_allowed_hosts, httpx.URL(storefront_url).netloc.decode()],
        # The emulator's people are on call in the sandbox: alice first, then bob.
        escalation_path=settings.escalation_path or SANDBOX_ESCALATION,
        log_format="text",
        scenarios=lambda: demo_scenarios(storefront_url),
    )
    stop = asyncio.Event()
    transcript = TranscriptStream(stack.emulator.workspace, lambda line: print(line, flush=True))
    streaming: asyncio.Task[None] | None = None
    try:
        print(banner(stack), flush=True)
        print("\nEvery message of the workspace appears below as it is posted.", flush=True)
        streaming = asyncio.create_task(transcript.run(stop))
        if not args.no_demo:
            print("\nDemo alert fired (CheckoutLatencyHigh).", flush=True)
            await fire_demo(stack, storefront_url, args.timeout)
        if not args.once:
            print(f"\nCtrl-C stops the sandbox. The page: {stack.emulator.page_url}", flush=True)
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            await stop.wait()
    finally:
        stop.set()
        if streaming is not None:
            await streaming
        await stack.stop()
        await storefront.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    """Entry point: quiet logs (warnings and up) so the transcript stays readable."""
    configure_logging("WARNING", "text")
    try:
        return asyncio.run(run_sandbox(args))
    except TimeoutError as exc:
        print(f"runbookctl sandbox: {exc}", file=sys.stderr)
        return 1


COMMAND = Command("sandbox", "Run the bot against the built-in Slack emulator and embedded store.", run, add_arguments)
