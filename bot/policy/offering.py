"""How a step is offered at a trust level: the one evaluation the live bot and `runbookctl simulate` share."""

from __future__ import annotations

from enum import StrEnum

from bot.policy.trust import TrustLevel
from bot.runbooks.schema import Remediation


class OfferMode(StrEnum):
    """What happens to an offered step before anything runs."""

    MANUAL = "manual"
    SHADOW = "shadow"
    AUTOMATIC = "automatic"
    APPROVAL = "approval"


def offer_mode(remediation: Remediation, level: TrustLevel) -> OfferMode:
    """Manual steps are marked done; shadow logs only; automatic needs a promotion and a reversible, unguarded step."""
    safety = remediation.safety
    if remediation.kind == "manual" or remediation.action is None:
        return OfferMode.MANUAL
    if level is TrustLevel.SHADOW:
        return OfferMode.SHADOW
    if level is TrustLevel.AUTOMATIC and not safety.requires_approval and not safety.irreversible:
        return OfferMode.AUTOMATIC
    return OfferMode.APPROVAL


def describe_offer(remediation: Remediation, level: TrustLevel) -> str:
    """The offer in words, as the live bot would treat it."""
    mode = offer_mode(remediation, level)
    if mode is OfferMode.MANUAL:
        return "a person does it and marks it done"
    if mode is OfferMode.SHADOW:
        return "shadow: not run, what would run is logged"
    if mode is OfferMode.AUTOMATIC:
        return "runs automatically (promoted to automatic)"
    who = ", ".join(remediation.safety.approvers) or "anyone"
    return f"needs approval by {who} (trust: {level.value})"
