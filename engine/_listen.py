"""Where a server listens, and how a socket address is written.

:func:`listening_sockets` binds what a host name means, on one port:

- ``::``, ``""`` or None (every interface): one IPv6 socket that also accepts IPv4 (dual-stack,
  ``IPV6_V6ONLY`` off) where the system allows it, else ``0.0.0.0``;
- ``0.0.0.0`` or any other address literal: that address only;
- a name: every address it resolves to; ``localhost`` is the loopback of both families
  (127.0.0.1 and ::1, RFC 6761 section 6.3) whatever the hosts file lists.

:func:`format_address` writes ``host:port`` with IPv6 addresses in brackets (RFC 3986
section 3.2.2), as ``[::1]:4433``.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket

__all__ = ["listening_sockets", "format_address"]

# A resolved address that cannot be bound here (no IPv6 on this host) is skipped when another is.
_UNAVAILABLE = {errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT}


def format_address(address) -> str:
    """``host:port`` of a socket address; ``[v6]:port`` for IPv6; an IPv4-mapped IPv6 address
    (a dual-stack socket's IPv4 peer) as the IPv4 address it maps."""
    if not isinstance(address, (tuple, list)) or len(address) < 2:
        return str(address)
    host, port = address[0], address[1]
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except (ValueError, AttributeError):
        return "%s:%s" % (host, port)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return "%s:%s" % (ip.ipv4_mapped, port)
    return ("[%s]:%s" if ip.version == 6 else "%s:%s") % (host, port)


def listening_sockets(host: str | None, port: int, *, backlog: int = 128) -> list:
    """Listening sockets for ``host`` on ``port`` (0: a free port, the same for all of them).

    Raises OSError (with the address in its message) if an address cannot be bound.
    """
    if host in (None, "", "::"):
        return [_dual_stack(port, backlog)]
    addresses = _addresses(host, port)
    sockets: list = []
    try:
        for family, sockaddr in addresses:
            if sockets and port == 0:
                sockaddr = (sockaddr[0], sockets[0].getsockname()[1], *sockaddr[2:])
            try:
                sockets.append(_bound(family, sockaddr, backlog))
            except OSError as exc:
                if exc.errno in _UNAVAILABLE and len(addresses) > 1:
                    continue
                raise OSError(exc.errno, "%s (%s)" % (exc.strerror or exc,
                                                      format_address(sockaddr))) from None
        if not sockets:
            raise OSError(errno.EADDRNOTAVAIL, "no address of %s can be bound here" % host)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _dual_stack(port: int, backlog: int) -> socket.socket:
    if socket.has_dualstack_ipv6():
        return socket.create_server(("::", port), family=socket.AF_INET6, backlog=backlog,
                                    dualstack_ipv6=True)
    if socket.has_ipv6:
        try:
            return socket.create_server(("::", port), family=socket.AF_INET6, backlog=backlog)
        except OSError as exc:
            if exc.errno not in _UNAVAILABLE:
                raise
    return socket.create_server(("0.0.0.0", port), backlog=backlog)


def _addresses(host: str, port: int) -> list:
    """``(family, sockaddr)`` for each distinct address of ``host``, in resolver order."""
    infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
                               socket.AI_PASSIVE)
    found = [(info[0], info[4]) for info in infos]
    if host.rstrip(".").lower() == "localhost":
        found += [(socket.AF_INET, ("127.0.0.1", port))]
        if socket.has_ipv6:
            found += [(socket.AF_INET6, ("::1", port, 0, 0))]
    seen, out = set(), []
    for family, sockaddr in found:
        if sockaddr[0] not in seen:
            seen.add(sockaddr[0])
            out.append((family, sockaddr))
    return out


def _bound(family: int, sockaddr, backlog: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if os.name == "posix":  # rebinding a port in TIME_WAIT (Windows would share it)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            # The IPv4 addresses of the name have their own socket.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock
