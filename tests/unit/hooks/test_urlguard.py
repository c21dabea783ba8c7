"""The URL guard as a pure function: nothing here resolves a name or opens a connection."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from hooks.urlguard import HostPolicy, address_class, parse_target, url_problem

PUBLIC = HostPolicy(("*",))


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """These addresses must never be reached: any connect or name lookup during a test here fails it."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"the URL guard tried to use the network: {args!r}")

    for name in ("connect", "connect_ex", "sendto"):
        monkeypatch.setattr(socket.socket, name, refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("http://METADATA.GOOGLE.INTERNAL./", "metadata"),
        ("http://100.100.100.200/", "metadata"),
        ("http://169.254.10.1/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://127.0.0.1:6379/", "loopback"),
        ("http://127.1/", "loopback"),
        ("http://2130706433/", "loopback"),
        ("http://0x7f000001/", "loopback"),
        ("http://0177.0.0.1/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
        ("http://localhost:8080/", "loopback"),
        ("http://api.localhost/", "loopback"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://10.1.2.3/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://[fd12:3456::1]/", "private"),
        ("http://100.64.0.1/", "reserved"),
        ("http://224.0.0.1/", "multicast"),
    ],
)
def test_special_addresses_need_explicit_listing(url: str, kind: str) -> None:
    target = parse_target(url)
    assert address_class(target.host) == kind
    problem = url_problem(url, PUBLIC)
    assert problem is not None and f"is a {kind} address" in problem
    assert url_problem(url, HostPolicy(("*", "*.*.*.*", "[*]"))) is not None  # wildcards never count as explicit
    explicit = HostPolicy((f"[{target.host}]" if ":" in target.host else target.host,))
    assert url_problem(url, explicit) is None


def test_public_names_pass_a_matching_glob_only() -> None:
    policy = HostPolicy(("*.example.com", "status.example.org:8443"))
    assert url_problem("https://shop.example.com/health", policy) is None
    assert url_problem("https://status.example.org:8443/", policy) is None
    assert "not in HTTP_ALLOWED_HOSTS" in (url_problem("https://status.example.org/", policy) or "")
    assert "not in HTTP_ALLOWED_HOSTS" in (url_problem("https://example.com.evil.net/", policy) or "")
    assert "HTTP_ALLOWED_HOSTS is empty" in (url_problem("https://shop.example.com/", HostPolicy()) or "")


def test_the_runbook_list_narrows_and_cannot_widen() -> None:
    narrowed = HostPolicy(("*.example.com",), ("shop.example.com",))
    assert url_problem("https://shop.example.com/", narrowed) is None
    assert "runbook's allowed_hosts" in (url_problem("https://admin.example.com/", narrowed) or "")
    widened = HostPolicy(("*.example.com",), ("*",))
    assert "not in HTTP_ALLOWED_HOSTS" in (url_problem("https://other.net/", widened) or "")
    # Only the operator's list can open a special address: the runbook naming it explicitly is not enough.
    assert "loopback" in (url_problem("http://127.0.0.1/", HostPolicy(("*",), ("127.0.0.1",))) or "")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("gopher://shop.example.com/", "only http and https"),
        ("http://user@shop.example.com/", "credentials"),
        ("http://shop.example.com@127.0.0.1/", "credentials"),
        ("http:///path", "names no host"),
        ("http://shop.example.com:99999/", "not a valid URL"),
    ],
)
def test_malformed_urls_are_refused(url: str, why: str) -> None:
    assert why in (url_problem(url, PUBLIC) or "")
