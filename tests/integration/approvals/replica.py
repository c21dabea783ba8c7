"""A second bot process against the same emulator and Redis prefix, for the exactly-once test.

python -m tests.integration.approvals.replica <settings JSON>
    starts a BotApp with those settings, prints "ready", and runs until stdin closes or it is terminated
"""

from __future__ import annotations

import asyncio
import json
import sys

from bot.app import BotApp
from bot.settings import load_settings


async def main(raw: str) -> None:
    bot = BotApp(load_settings(**json.loads(raw)))
    await bot.start()
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    await bot.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
