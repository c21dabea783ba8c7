"""`runbookctl serve`: run the bot (Socket Mode, webhooks, background work) until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal

from bot import loops
from bot.app import BotApp
from bot.cli.base import Command
from bot.logs import configure_logging
from bot.settings import Settings, load_settings


async def serve_until_stopped(settings: Settings) -> None:
    """Start the bot, wait for SIGINT or SIGTERM, then stop it cleanly."""
    bot = BotApp(settings)
    await bot.start()
    loops.settle_heap()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await bot.stop()


def run(args: argparse.Namespace) -> int:
    """Load settings from the environment and serve."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    loops.run(serve_until_stopped(settings))  # on uvloop when installed (the `fast` extra)
    return 0


COMMAND = Command("serve", "Run the bot: Slack Socket Mode, alert webhooks, timers.", run)
