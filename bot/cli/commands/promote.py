"""runbookctl promote: record a trust promotion (who, when, evidence) in the trust file kept in Git."""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from bot.cli.base import Command
from bot.errors import InvalidInput
from bot.policy.trust import Promotion, TrustLevel, append_promotion, trust_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Action, environment, level, evidence and where the runbooks live."""
    parser.add_argument("--action", required=True, help="remediation id, or runbook_id/remediation_id")
    parser.add_argument("--env", required=True, help="environment, or * for all")
    parser.add_argument("--evidence-url", required=True, help="link to the evidence (dashboards, past runs, review)")
    parser.add_argument("--level", choices=[t.value for t in TrustLevel], default=TrustLevel.AUTOMATIC.value)
    parser.add_argument("--by", default=None, help="who promotes (default: the current user)")
    parser.add_argument("--runbooks", type=Path, default=Path("runbooks"), help="the runbook folder")


def run(args: argparse.Namespace) -> int:
    """Append the promotion; commit the file in a pull request so it is reviewed."""
    try:
        promotion = Promotion(
            action=args.action,
            env=args.env,
            level=TrustLevel(args.level),
            by=args.by or getpass.getuser(),
            at=datetime.now(UTC),
            evidence_url=args.evidence_url,
        )
    except ValidationError as exc:
        raise InvalidInput(f"invalid promotion: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from None
    path = trust_path(args.runbooks)
    append_promotion(path, promotion)
    print(f"{promotion.action} in {promotion.env} → {promotion.level.value}, recorded in {path}; open a pull request.")
    return 0


COMMAND = Command(
    "promote", "Record a trust promotion (shadow|approval|automatic) with its evidence.", run, add_arguments
)
