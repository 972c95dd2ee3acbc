"""The client's address, honouring X-Forwarded-For only from trusted proxies.

Also the key a client is rate-limited under: an IPv6 client by its /64 network,
since one subscriber, host or virtual machine gets a whole /64 and can pick any
address in it for each request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Prefix length of the network an IPv6 client is counted by (its LAN, one subscriber).
IPV6_CLIENT_PREFIX = 64


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


def rate_key(address: str) -> str:
    """The key a client's requests are counted under.

    Args:
        address: The client address (from :func:`client_ip`).

    Returns:
        An IPv4 address as it is; an IPv4-mapped IPv6 address as its IPv4 address;
        any other IPv6 address as its /64 network, e.g. ``2001:db8:1:2::/64``;
        anything unparsable as it is (``"unknown"`` when empty).
    """
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        network = ipaddress.IPv6Network((int(ip), IPV6_CLIENT_PREFIX), strict=False)
        return str(network)
    return str(ip)
