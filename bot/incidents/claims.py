"""Claim tokens: what a writer puts on an alert group while it creates the group's incident."""

from __future__ import annotations

import itertools
import os
import uuid

CLAIM_PREFIX = "claim:"

# Unique across processes by the random prefix (drawn again in a forked child), within one by the counter:
# every lookup of the intake's short path carries a token, and uuid4 would cost a system call each.
_nonce = uuid.uuid4().hex
_counter = itertools.count(1)


def claim_token() -> str:
    """A claim token no other writer holds."""
    return f"{CLAIM_PREFIX}{_nonce}{next(_counter):x}"


def _new_nonce() -> None:
    global _nonce
    _nonce = uuid.uuid4().hex


os.register_at_fork(after_in_child=_new_nonce)
