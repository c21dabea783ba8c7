"""Run the emulator as its own process: `python -m bot.sandbox.emulator --port 3210`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from bot.sandbox.emulator.emulator import SlackEmulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3210)
    parser.add_argument("--bot-token", default="xoxb-emulator-bot-token")
    parser.add_argument("--app-token", default="xapp-1-emulator-app-token")
    parser.add_argument("--rate-limits", action="store_true", help="answer 429 above Slack's tiers")
    parser.add_argument("--rate-scale", type=float, default=1.0, help="scale every rate window (0.05: 1 min -> 3 s)")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Start, print the settings the bot needs, run until SIGINT or SIGTERM."""
    emulator = SlackEmulator(
        bot_token=args.bot_token, app_token=args.app_token, rate_limits=args.rate_limits, rate_scale=args.rate_scale
    )
    api_url = await emulator.start(args.host, args.port)
    print(f"SLACK_API_URL={api_url}\nSLACK_BOT_TOKEN={emulator.bot_token}\nSLACK_APP_TOKEN={emulator.app_token}")
    print(
        f"control: GET {emulator.base_url}/_emulator/state, POST {emulator.base_url}/_emulator/slash_command",
    )
    # After the settings lines, which drills read first.
    print(f"the workspace in a browser: {emulator.page_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
