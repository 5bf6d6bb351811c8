"""Which live URLs a request may make the server open: scheme and host against the operator's allow-list.

A rule is ``scheme://host[:port]`` where host is an IP address, a CIDR block (``10.0.0.0/8``,
``[fd00::]/8``), an exact host name or a ``*.`` wildcard of names (``*.cams.example``)::

    rtsp://10.0.0.0/8            any RTSP camera in 10/8, any port
    rtmp://media.example:1935    one RTMP server
    udp://239.0.0.0/8            MPEG-TS multicast

A URL passes when its scheme is a network protocol, the same as a rule's, the port matches when the
rule names one, and its host matches: a name rule by the name, an address or CIDR rule by *every*
address the host resolves to (so ``cam.example`` pointing into a blocked network is refused, and a
name with one bad address among good ones too). Local protocols (``file:``, ``concat:``,
``subfile:``, ``pipe:``, ``data:`` and every other FFmpeg protocol not listed in
:data:`NETWORK_SCHEMES`) are refused whatever the rules say. An empty list refuses everything: live
pull is off until the operator allows something. The same check applies to outputs.

Everything here is pure (the resolver is a parameter); nothing is opened. Known limits, documented
in ``docs/service.md`` ("Security model"): FFmpeg resolves the name again when it connects (a DNS
answer that changes in between is not seen), an HTTP server may redirect, and an HLS playlist may
name segments on other hosts (the protocol whitelist still keeps them on the network).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import ConfigError, PermissionDeniedError

__all__ = ["NETWORK_SCHEMES", "AllowRule", "Resolver", "check_url", "parse_rules", "system_resolver"]

# The network protocols a live URL may name (FFmpeg protocol names); everything else is local.
NETWORK_SCHEMES: frozenset[str] = frozenset(
    {"rtsp", "rtsps", "rtmp", "rtmps", "rtmpt", "rtmpts", "http", "https", "udp", "rtp", "srt", "tcp"}
)
_DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "rtmp": 1935, "rtmps": 443, "rtmpt": 80, "rtmpts": 443,
                  "http": 80, "https": 443}

_NAME = re.compile(r"(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], Sequence[str]]  # host name -> its addresses (strings)


@dataclass(frozen=True)
class AllowRule:
    """One allow-list entry: a scheme and either a network or a host name pattern, maybe a port."""

    scheme: str
    network: Network | None = None
    name: str | None = None  # lower case; "*.example" matches sub-domains only
    port: int | None = None

    def __str__(self) -> str:
        host = str(self.network) if self.network is not None else self.name
        return f"{self.scheme}://{host}" + (f":{self.port}" if self.port else "")

    def matches_name(self, host: str) -> bool:
        if self.name is None:
            return False
        if self.name.startswith("*."):
            return host.endswith(self.name[1:]) and host != self.name[2:]
        return host == self.name


def _parse_rule(text: str) -> AllowRule:
    raw = text.strip()
    scheme, sep, rest = raw.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in NETWORK_SCHEMES:
        raise ConfigError(f"--live-allow {text!r}: give scheme://host-or-CIDR[:port] with a network scheme "
                          f"({', '.join(sorted(NETWORK_SCHEMES))})")
    rest = rest.rstrip("/")
    port: int | None = None
    host = rest
    if rest.startswith("["):  # [v6] or [v6]/len or [v6]:port
        close = rest.find("]")
        host, tail = rest[1:close] + rest[close + 1:].split(":")[0], rest[close + 1:]
        if ":" in tail:
            port_text = tail.rsplit(":", 1)[1]
            port = int(port_text) if port_text.isdigit() else -1
    elif rest.count(":") == 1:
        host, port_text = rest.split(":")
        if "/" in port_text:  # 10.0.0.0:554/8 is not a form we take
            port = -1
        else:
            port = int(port_text) if port_text.isdigit() else -1
    if port is not None and not 0 < port < 65536:
        raise ConfigError(f"--live-allow {text!r}: bad port")
    if not host:
        raise ConfigError(f"--live-allow {text!r}: no host")
    try:
        network = ipaddress.ip_network(host, strict=False)
    except ValueError:
        name = host.lower()
        if not _NAME.fullmatch(name):
            raise ConfigError(f"--live-allow {text!r}: {host!r} is neither an address, a CIDR block nor a "
                              "host name (a wildcard may only lead: *.example.org)") from None
        return AllowRule(scheme, name=name, port=port)
    return AllowRule(scheme, network=network, port=port)


def parse_rules(texts: Iterable[str]) -> tuple[AllowRule, ...]:
    """The operator's ``--live-allow`` values as rules; ConfigError names a bad one."""
    return tuple(_parse_rule(text) for text in texts if text.strip())


def system_resolver(host: str) -> Sequence[str]:
    """Every address ``host`` resolves to (the system's resolver); empty when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        return ()
    return sorted({str(info[4][0]) for info in infos})


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def check_url(url: str, rules: Sequence[AllowRule], *, what: str = "live URL",
              resolve: Resolver = system_resolver, flag: str = "--live-allow") -> str:
    """Return ``url`` when the rules allow it; raise :class:`PermissionDeniedError` otherwise.

    Only parsing and name resolution happen here: nothing is connected to or opened.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise PermissionDeniedError(f"{what} {url!r}: not a valid URL") from None
    scheme = parts.scheme.lower()
    if "://" not in url or scheme not in NETWORK_SCHEMES:
        raise PermissionDeniedError(
            f"{what} {url!r}: {scheme or 'a local path'}{':' if scheme else ''} is not a network protocol; "
            f"only {', '.join(sorted(NETWORK_SCHEMES))} URLs are opened"
        )
    host = (parts.hostname or "").lower()
    if not host:
        raise PermissionDeniedError(f"{what} {url!r}: the URL names no host")
    if not rules:
        raise PermissionDeniedError(f"{what} {url!r}: live {what}s are not enabled on this server "
                                    f"(the operator allows them with {flag})")
    port = port or _DEFAULT_PORTS.get(scheme)
    candidates = [r for r in rules if r.scheme == scheme and (r.port is None or r.port == port)]
    if any(rule.matches_name(host) for rule in candidates):
        return url
    literal = _address(host)
    addresses = [literal] if literal is not None else [a for a in map(_address, resolve(host)) if a]
    networks = [rule.network for rule in candidates if rule.network is not None]
    if addresses and networks and all(any(a in net for net in networks) for a in addresses):
        return url
    shown = f"{host} ({', '.join(map(str, addresses))})" if literal is None and addresses else host
    raise PermissionDeniedError(f"{what} {url!r}: {scheme}://{shown}"
                                f"{f':{port}' if port else ''} is not on the server's allow-list ({flag})")
