"""The outbound-connection recorder. Python imports `sitecustomize` at start-up, before any of
the app's modules, from the first folder on its path that has one: with this folder first on
PYTHONPATH and `OUTBOUND_RECORD` naming a file, every socket connect, datagram and name lookup
of the process is written there as one JSON line, and anything that reaches past loopback is
refused with ENETUNREACH, as a hospital network with no route out would."""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import socket
import sys
from typing import Any

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
LOOKUPS = frozenset(
    {
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.gethostbyaddr",
    }
)


def is_loopback(host: object) -> bool:
    if host is None:  # getaddrinfo(None, port): this machine's own addresses, to bind
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.lower() in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def reach(event: str, args: tuple[Any, ...]) -> tuple[str, object, object] | None:
    """(family, host, port) of an event that reaches for a machine; None for other events."""
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[-1]
        family = getattr(sock.family, "name", str(sock.family))
        if sock.family == socket.AF_UNIX:
            return family, None, None
        if isinstance(address, tuple) and len(address) >= 2:
            return family, address[0], address[1]
        return family, address, None
    if event in LOOKUPS:
        return "lookup", args[0], args[1] if len(args) > 1 else None
    return None


def record(event: str, args: tuple[Any, ...]) -> None:
    found = reach(event, args)
    if found is None:
        return
    family, host, port = found
    # only an internet socket or a name lookup can reach another machine (a Unix or netlink
    # socket stays on this one)
    local = family not in ("AF_INET", "AF_INET6", "lookup") or is_loopback(host)
    line = {
        "pid": os.getpid(),
        "argv": sys.argv[:4],
        "event": event,
        "family": family,
        "host": host if host is None or isinstance(host, str) else repr(host),
        "port": port if isinstance(port, int) else None,
        "loopback": local,
    }
    fd = os.open(RECORD, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(line) + "\n").encode())
    finally:
        os.close(fd)
    if not local:
        raise OSError(errno.ENETUNREACH, f"outbound {event} to {host!r} refused by the recorder")


RECORD = os.environ.get("OUTBOUND_RECORD", "")
if RECORD:
    sys.addaudithook(record)
