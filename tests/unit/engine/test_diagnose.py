"""The diagnostics runner: parallel, time-boxed, deadline-bound, cancel-safe, redacting.

Timing tests run on a virtual-time loop: sleeps and timeouts take no real time and every duration is
exact, so the assertions are about behaviour (who waited for whom), never about a loaded machine.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from bot.engine.diagnose import run_diagnostics
from bot.engine.types import DiagnosticPlan, HookOutput, Verdict
from bot.errors import HookTimeout, UpstreamError
from bot.settings import Settings
from hooks.base import BaseDiagnostic, Hook, HookContext
from tests.virtual_time import run_virtual


class Step(BaseModel):
    """Config of the test hooks."""

    seconds: float = 0.0
    value: Any = 1
    no_data: bool = False
    evidence: str = "fine"


class Sleeper(BaseDiagnostic):
    """Sleeps, then answers its configured value."""

    name: ClassVar[str] = "sleeper"
    help: ClassVar[str] = "test"
    config_model: ClassVar[type[Step]] = Step

    async def run(self, config: Step, ctx: HookContext) -> HookOutput:
        await asyncio.sleep(config.seconds)
        return HookOutput(
            value=config.value, evidence=config.evidence, no_data=config.no_data, data={"v": config.value}
        )


class Hanger(Sleeper):
    """Never answers; records whether it was cancelled."""

    name: ClassVar[str] = "hanger"
    cancelled: ClassVar[list[str]] = []

    async def run(self, config: Step, ctx: HookContext) -> HookOutput:
        try:
            await asyncio.Event().wait()
        finally:
            Hanger.cancelled.append(str(config.value))
        raise AssertionError("unreachable")


class Stubborn(Sleeper):
    """Swallows cancellation and keeps going for a while: the runner must not wait for it."""

    name: ClassVar[str] = "stubborn"

    async def run(self, config: Step, ctx: HookContext) -> HookOutput:
        for _ in range(5):
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.1)
        return HookOutput(value="late")


class Failing(Sleeper):
    """Raises what its value names."""

    name: ClassVar[str] = "failing"

    async def run(self, config: Step, ctx: HookContext) -> HookOutput:
        if config.value == "timeout":
            raise HookTimeout("query hit statement_timeout")
        if config.value == "upstream":
            raise UpstreamError("cannot reach http://admin:hunter22@prom:9090 with Bearer abcdef123456")
        raise RuntimeError(f"boom, password={config.evidence}")


HOOKS: dict[str, Hook] = {h.name: h for h in (Sleeper(), Hanger(), Stubborn(), Failing())}


def _ctx(**kwargs: Any) -> HookContext:
    return HookContext(settings=Settings(_env_file=None, **kwargs))


def _plan(i: int | str, hook: str = "sleeper", timeout_s: float = 5.0, **config: Any) -> DiagnosticPlan:
    return DiagnosticPlan(id=f"d{i}", name=f"step {i}", hook=hook, config=config, timeout_s=timeout_s)


async def _run(plans: list[DiagnosticPlan], deadline_s: float = 5.0, ctx: HookContext | None = None) -> list[Any]:
    return await run_diagnostics(plans, ctx or _ctx(), deadline_s, hooks=HOOKS)


async def _timed(plans: list[DiagnosticPlan], deadline_s: float = 5.0) -> tuple[list[Any], float]:
    """The results and the loop time the runner took."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    results = await _run(plans, deadline_s=deadline_s)
    return results, loop.time() - started


def test_twenty_with_one_hanging_finish_at_the_deadline() -> None:
    Hanger.cancelled.clear()
    plans = [_plan(i, seconds=0.05 + i * 0.005, value=i) for i in range(19)] + [_plan("hang", "hanger", timeout_s=60)]

    async def scenario() -> tuple[list[Any], float]:
        results, elapsed = await _timed(plans, deadline_s=0.4)
        await asyncio.sleep(0)
        return results, elapsed

    results, elapsed = run_virtual(scenario)
    # The deadline, not the hanging hook's own 60 s timeout, ends the run.
    assert elapsed == pytest.approx(0.4)
    assert [r.id for r in results] == [p.id for p in plans]
    assert all(r.status is Verdict.HEALTHY for r in results[:19])
    assert [r.value for r in results[:19]] == list(range(19))
    assert [r.duration_ms for r in results[:19]] == pytest.approx([50 + i * 5 for i in range(19)])
    assert results[19].status is Verdict.TIMEOUT
    assert results[19].error == "overall diagnostics deadline reached"
    assert results[19].duration_ms == pytest.approx(400)
    assert Hanger.cancelled == ["1"]


def test_runs_in_parallel() -> None:
    results, elapsed = run_virtual(lambda: _timed([_plan(i, seconds=0.2) for i in range(30)]))
    # Thirty 0.2 s hooks one after the other would take 6 s.
    assert elapsed == pytest.approx(0.2)
    assert [r.duration_ms for r in results] == pytest.approx([200] * 30)
    assert all(r.status is Verdict.HEALTHY for r in results)


def test_own_timeout_is_reported_as_such() -> None:
    [result], elapsed = run_virtual(lambda: _timed([_plan(1, seconds=2, timeout_s=0.1)]))
    assert result.status is Verdict.TIMEOUT and result.error == "timed out after 0.1s"
    assert result.duration_ms == pytest.approx(100) and elapsed == pytest.approx(0.1)


def test_hook_that_swallows_cancellation_does_not_hold_the_runner() -> None:
    # The stubborn hook keeps going for 0.5 s after it is cancelled; the runner answers at its 0.1 s timeout.
    [result], elapsed = run_virtual(lambda: _timed([_plan(1, "stubborn", timeout_s=0.1)]))
    assert result.status is Verdict.TIMEOUT
    assert elapsed == pytest.approx(0.1)


def test_deadline_shorter_than_a_timeout_is_named_as_the_deadline() -> None:
    [result], elapsed = run_virtual(lambda: _timed([_plan(1, seconds=2, timeout_s=1.0)], deadline_s=0.25))
    assert result.status is Verdict.TIMEOUT and result.error == "overall diagnostics deadline reached"
    assert elapsed == pytest.approx(0.25)


async def test_errors_become_results_with_redacted_messages() -> None:
    ctx = _ctx(database_dsns={"db": "postgresql://u:dsn-pass-9@h/db"})
    ctx.secrets.append("incident-secret")
    plans = [
        _plan(1, "failing", value="boom", evidence="dsn-pass-9"),
        _plan(2, "failing", value="upstream"),
        _plan(3, "failing", value="timeout"),
        _plan(4, evidence="token incident-secret seen", value="incident-secret"),
    ]
    boom, upstream, timeout, leaky = await _run(plans, ctx=ctx)
    assert boom.status is Verdict.ERROR and boom.error == "RuntimeError: boom, password=***"
    assert upstream.status is Verdict.ERROR
    assert upstream.error == "cannot reach http://admin:***@prom:9090 with Bearer ***"
    assert timeout.status is Verdict.TIMEOUT and timeout.error == "query hit statement_timeout"
    assert leaky.evidence == "token *** seen" and leaky.value == "***" and leaky.data == {"v": "***"}


async def test_interpreter_no_data_and_failing_interpreter() -> None:
    def critical_above_5(output: HookOutput) -> tuple[Verdict, str | None]:
        return (Verdict.CRITICAL, "value > 5") if output.value > 5 else (Verdict.HEALTHY, None)

    def broken(output: HookOutput) -> tuple[Verdict, str | None]:
        raise ValueError("bad expression")

    plans = [
        DiagnosticPlan(id="a", name="a", hook="sleeper", config={"value": 9}, interpret=critical_above_5),
        DiagnosticPlan(id="b", name="b", hook="sleeper", config={"value": 1}, interpret=critical_above_5),
        DiagnosticPlan(id="c", name="c", hook="sleeper", config={"no_data": True}),
        DiagnosticPlan(id="d", name="d", hook="sleeper", config=Step(value=2), interpret=broken),
    ]
    a, b, c, d = await _run(plans)
    assert (a.status, a.evidence) == (Verdict.CRITICAL, "fine\n(value > 5)")
    assert b.status is Verdict.HEALTHY
    assert c.status is Verdict.WARNING
    assert d.status is Verdict.ERROR and "bad expression" in (d.error or "")


async def test_unknown_hook_and_invalid_config() -> None:
    plans = [_plan(1, "nope"), DiagnosticPlan(id="x", name="x", hook="sleeper", config={"seconds": "soon"})]
    unknown, invalid = await _run(plans)
    assert unknown.status is Verdict.ERROR and "nope" in (unknown.error or "")
    assert invalid.status is Verdict.ERROR and "seconds" in (invalid.error or "")


async def test_builtin_registry_validates_dict_configs() -> None:
    plan = DiagnosticPlan(id="h", name="h", hook="http_check", config={"urls": []})
    [result] = await run_diagnostics([plan], _ctx(), 1.0)
    assert result.status is Verdict.ERROR and "invalid http_check config: urls" in (result.error or "")


def test_cancelling_the_runner_cancels_every_hook() -> None:
    Hanger.cancelled.clear()

    async def scenario() -> None:
        task = asyncio.ensure_future(_run([_plan(i, "hanger", timeout_s=60, value=f"c{i}") for i in range(5)]))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)

    run_virtual(scenario)
    assert sorted(Hanger.cancelled) == [f"c{i}" for i in range(5)]


async def test_no_plans() -> None:
    assert await _run([]) == []
