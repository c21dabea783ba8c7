"""runbookctl simulate: which runbook, which verdicts, which decisions and steps, without running any hook."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bot.cli.base import Command
from bot.errors import InvalidInput
from bot.policy.trust import TrustBook, trust_path
from bot.runbooks.catalog import load_catalog
from bot.runbooks.render import render_simulation
from bot.runbooks.simulate import Simulation, alert_from_payload, load_scenario, mismatches, scenario_alert, simulate
from bot.settings import load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Where runbooks are and what to simulate."""
    parser.add_argument("--runbooks", type=Path, default=Path("runbooks"), help="runbook folder")
    parser.add_argument("--service", help="service name, with --symptom")
    parser.add_argument("--symptom", help="words describing what is wrong")
    parser.add_argument("--alert", type=Path, help="a webhook payload of any intake source, or one alert as JSON")
    parser.add_argument("--source", help="the payload's source (alertmanager, grafana, …); detected when omitted")
    parser.add_argument("--scenario", type=Path, help="a scenario file with recorded diagnostic values")
    parser.add_argument("--environment", help="override the alert's environment")


def _by_symptom(args: argparse.Namespace) -> Simulation:
    catalog = load_catalog(args.runbooks)
    found = catalog.match_symptom(args.service, args.symptom or "")
    if not found:
        raise InvalidInput(f"no runbook for service {args.service!r} and symptom {args.symptom!r}")
    runbook = found[0]
    name = next((t.alert for t in runbook.triggers if t.alert), "ManualAlert")
    alert = alert_from_payload(
        {"name": name, "service": args.service or "unknown", "environment": args.environment or "prod"}
    )
    return simulate(catalog, alert, runbook=runbook)


def run(args: argparse.Namespace) -> int:
    """Simulate and print; with --scenario, exit 1 when the result differs from its expectations."""
    catalog = load_catalog(args.runbooks)
    problems: list[str] = []
    if args.scenario:
        scenario = load_scenario(args.scenario)
        alert = scenario_alert(scenario)
        if args.environment:
            alert = alert.model_copy(update={"environment": args.environment})
        simulation = simulate(catalog, alert, scenario.diagnostics)
        problems = mismatches(simulation, scenario.expect)
    elif args.alert:
        try:
            payload = json.loads(args.alert.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"alert {args.alert}: {exc}") from exc
        alert = alert_from_payload(payload, args.source)
        if args.environment:
            alert = alert.model_copy(update={"environment": args.environment})
        simulation = simulate(catalog, alert, http_allowed_hosts=tuple(load_settings().http_allowed_hosts))
    elif args.symptom or args.service:
        simulation = _by_symptom(args)
    else:
        raise InvalidInput("give --scenario, --alert, or --service/--symptom")
    print(render_simulation(simulation, TrustBook(trust_path(args.runbooks)).level))
    for problem in problems:
        print(f"MISMATCH {problem}")
    return 1 if problems or simulation.runbook is None else 0


COMMAND = Command("simulate", "Show what a runbook would do for an alert, running nothing.", run, add_arguments)
