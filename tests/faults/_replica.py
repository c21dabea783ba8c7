"""One replica's Slack gateway as its own OS process: `python -m tests.faults._replica CONFIG_JSON`.

It builds the gateway as the bot does (production Web API client, the shared budget on the given Redis and
prefix), waits for the start time in the config so both replicas begin together, sends its calls all at once,
and prints one JSON line: how many calls succeeded and how many 429s it saw.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from bot.app import gateway_config, shared_budget, slack_client
from bot.connections import make_client
from bot.keys import Keys
from bot.settings import load_settings
from bot.slack.gateway import SlackGateway
from bot.slack.ratelimit import RateLimiter


async def main(config: dict[str, Any]) -> dict[str, Any]:
    settings = load_settings(
        slack_api_url=config["api_url"],
        slack_bot_token=config["bot_token"],
        slack_app_token="xapp-unused",
        redis_url=config["redis_url"],
        redis_prefix=config["prefix"],
        slack_rate_scale=config["scale"],
        slack_call_deadline_s=60,
    )
    redis = make_client(config["redis_url"])
    budget = shared_budget(settings, redis, Keys(settings.redis_prefix))
    gateway = SlackGateway(
        slack_client(settings),
        RateLimiter(scale=settings.slack_rate_scale),
        config=gateway_config(settings),
        budget=budget,
        history=1000,
    )
    await gateway.start()
    await asyncio.sleep(max(0.0, config["start_at"] - time.time()))
    calls = [gateway.call(config["method"]) for _ in range(config["calls"])]
    results = await asyncio.gather(*calls, return_exceptions=True)
    await gateway.stop(drain_timeout=0)
    await redis.aclose()
    return {
        "ok": sum(1 for r in results if isinstance(r, dict) and r.get("ok")),
        "limited": sum(1 for a in gateway.history if a.status == "limited"),
        "shared": budget is not None,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))), flush=True)
