"""A label forming a whole argv element cannot become an option: the program never starts."""

from __future__ import annotations

from pathlib import Path

from bot.engine.types import Verdict
from tests.integration.hooks.alertdata import alert_with, incident_for, responder_for


def recording_script(folder: Path) -> tuple[Path, Path]:
    """A script that appends its arguments to a log, so a test sees whether (and how) it ran."""
    log = folder / "calls.log"
    script = folder / "record-args"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\n')
    script.chmod(0o755)
    return script, log


async def test_a_dash_label_as_a_whole_argv_element_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    script, log = recording_script(tmp_path)
    argv = [str(script), "--host", "${alert.labels.arg}", "--tag=${alert.labels.tag}"]
    runbook = {"diagnostics": [{"id": "probe", "name": "Probe", "type": "shell_command", "config": {"argv": argv}}]}
    responder = responder_for(tmp_path, runbook, shell_allowlist=[str(script)])

    hostile = alert_with({"arg": "--version", "tag": "a"})
    [refused] = await responder.diagnose("alert-data", incident_for(hostile), hostile)
    assert refused.status is Verdict.ERROR
    assert "alert label 'arg'" in refused.error and "may not start with '-'" in refused.error
    assert not log.exists()

    # Data after a fixed prefix stays one option's value; a plain label runs the real program.
    plain = alert_with({"arg": "node-7", "tag": "-x"})
    [ran] = await responder.diagnose("alert-data", incident_for(plain), plain)
    assert ran.status is not Verdict.ERROR, ran.error
    assert log.read_text() == "--host node-7 --tag=-x\n"
