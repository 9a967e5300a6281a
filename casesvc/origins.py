"""Browser origins, as CASESVC_CORS_ORIGINS lists them: ``scheme://host[:port]`` and
nothing else, compared as a browser sends them."""

from __future__ import annotations

import ipaddress
import re

# An origin as CASESVC_CORS_ORIGINS takes it: scheme://host[:port], the host a DNS name, an
# IPv4 address or a bracketed IPv6 address; nothing else (no pattern, path or credentials).
_ORIGIN = re.compile(r"(https?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normal_origin(origin: str) -> str:
    """``origin`` as a browser sends it: scheme and host in lower case, no default port."""
    parsed = parse_origin(origin)
    if parsed is None:
        raise ValueError(f"not an origin: {origin!r}")
    return parsed


def parse_origin(origin: str) -> str | None:
    """``origin`` normalised (``normal_origin``), or None if it is not exactly
    ``scheme://host[:port]`` with a valid host and port."""
    match = _ORIGIN.fullmatch(origin)
    if match is None:
        return None
    scheme, host, port = match.groups()
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
    elif not _is_host_name_or_ipv4(host):
        return None
    if port is not None and not 0 < int(port) < 65536:
        return None
    shown_port = "" if port is None or int(port) == _DEFAULT_PORTS[scheme] else f":{int(port)}"
    return f"{scheme}://{host.lower()}{shown_port}"


def _is_host_name_or_ipv4(host: str) -> bool:
    if host.replace(".", "").isdigit():
        try:
            ipaddress.IPv4Address(host)
            return True
        except ValueError:
            return False
    labels = host.split(".")
    return len(host) <= 253 and all(_LABEL.fullmatch(label) for label in labels)
