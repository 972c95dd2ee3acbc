"""The client's address, honouring X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, networks: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(
    remote_addr: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]
) -> str:
    """Work out the client's address.

    The peer address is the client unless it is a trusted proxy; then
    ``X-Forwarded-For`` is read from the right, skipping trusted proxies, and the
    first address that is not one is the client.

    Args:
        remote_addr: The TCP peer.
        forwarded_for: The ``X-Forwarded-For`` header, if any.
        trusted: The trusted proxy networks.

    Returns:
        The client address (the peer when the header cannot be trusted or parsed).
    """
    peer = remote_addr or ""
    if not forwarded_for or not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer
