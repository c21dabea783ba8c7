"""Where a URL built from alert data may point: an allow-list of host globs, and addresses refused by class.

Pure functions: nothing here resolves a name or opens a socket, so every rule is tested without a network.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from hooks.guards import GLOB_CHARS

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance-metadata endpoints: a request there can hand out the machine's credentials.
METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
DEFAULT_PORTS = {"http": 80, "https": 443}
# inet_aton reads the legacy IPv4 spellings (127.1, 0x7f000001, 2130706433, 0177.0.0.1) browsers and libcs accept.
_LEGACY_IPV4 = re.compile(r"[0-9a-fx.]+")


@dataclass(frozen=True)
class Target:
    """Scheme, host (lowercase, without brackets) and port of a URL."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class HostPolicy:
    """HTTP_ALLOWED_HOSTS, and the runbook's `allowed_hosts` that can only narrow it (None: not narrowed)."""

    allowed: tuple[str, ...] = ()
    narrowed: tuple[str, ...] | None = None


def parse_target(url: str) -> Target:
    """The target of an http(s) URL; ValueError naming what is wrong with it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError("only http and https URLs are allowed")
    if "@" in parts.netloc:
        raise ValueError("credentials in a URL (user@host) are not allowed")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError("the URL names no host")
    return Target(parts.scheme, host, port if port is not None else DEFAULT_PORTS[parts.scheme])


def ip_of(host: str) -> IPAddress | None:
    """The address a host literal denotes, legacy IPv4 spellings included; None for a name."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        if not _LEGACY_IPV4.fullmatch(host):
            return None
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_class(host: str) -> str | None:
    """Why a host needs explicit listing (metadata, loopback, link-local, private, ...); None for a public one."""
    if host in METADATA_HOSTS:
        return "metadata"
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback"
    address = ip_of(host)
    if address is None:
        return None
    checks = (
        ("metadata", address in METADATA_ADDRESSES),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("unspecified", address.is_unspecified),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def _split_pattern(pattern: str) -> tuple[str, str | None]:
    pattern = pattern.strip().lower()
    if pattern.startswith("["):
        host, _, rest = pattern[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else None
    if pattern.count(":") == 1:
        host, port = pattern.split(":")
        return host, port
    return pattern, None


def pattern_matches(pattern: str, target: Target) -> bool:
    """Whether a `host`, `host:port` or `[v6]:port` glob covers the target."""
    host, port = _split_pattern(pattern)
    return fnmatchcase(target.host, host) and (port is None or fnmatchcase(str(target.port), port))


def listed_explicitly(patterns: tuple[str, ...], target: Target) -> bool:
    """Whether a pattern without wildcards in its host part names this host."""
    for pattern in patterns:
        host, _ = _split_pattern(pattern)
        if not GLOB_CHARS & set(host) and pattern_matches(pattern, target):
            return True
    return False


def url_problem(url: str, policy: HostPolicy) -> str | None:
    """Why the bot may not send a request to this URL under the policy; None when it may."""
    try:
        target = parse_target(url)
    except ValueError as exc:
        return str(exc)
    if not policy.allowed:
        return "HTTP_ALLOWED_HOSTS is empty, so no URL built from alert data may be requested"
    if not any(pattern_matches(p, target) for p in policy.allowed):
        return f"host {target} is not in HTTP_ALLOWED_HOSTS"
    if policy.narrowed is not None and not any(pattern_matches(p, target) for p in policy.narrowed):
        return f"host {target} is not in the runbook's allowed_hosts"
    kind = address_class(target.host)
    if kind and not listed_explicitly(policy.allowed, target):
        return f"host {target} is a {kind} address, refused unless HTTP_ALLOWED_HOSTS lists it without wildcards"
    return None


def same_origin(first: str, second: str) -> bool:
    """Whether two URLs share scheme, host and port."""
    try:
        return parse_target(first) == parse_target(second)
    except ValueError:
        return False
