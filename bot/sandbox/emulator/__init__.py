"""A Slack emulator (Web API + Socket Mode) that the unchanged slack-sdk and Bolt talk to over real sockets."""

from bot.sandbox.emulator.delivery import AckRecord, Delivery
from bot.sandbox.emulator.driver import UserMessage
from bot.sandbox.emulator.emulator import SlackEmulator
from bot.sandbox.emulator.errors import EmulatorError, EmulatorTimeout
from bot.sandbox.emulator.faults import Fault, FaultMode
from bot.sandbox.emulator.ratelimit import RateLimitConfig
from bot.sandbox.emulator.records import CallRecord, Channel, Ephemeral, Message, User, UserGroup, View
from bot.sandbox.emulator.socket_mode import SocketModeConfig

__all__ = [
    "AckRecord",
    "CallRecord",
    "Channel",
    "Delivery",
    "EmulatorError",
    "EmulatorTimeout",
    "Ephemeral",
    "Fault",
    "FaultMode",
    "Message",
    "RateLimitConfig",
    "SlackEmulator",
    "SocketModeConfig",
    "User",
    "UserGroup",
    "UserMessage",
    "View",
]
