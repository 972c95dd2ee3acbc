import ipaddress

import pytest

from service.web.client_ip import client_ip, rate_key

TRUSTED = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32")]


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        ("203.0.113.9", None, "203.0.113.9"),
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # untrusted peer: header ignored
        ("10.1.2.3", "198.51.100.1", "198.51.100.1"),
        ("10.1.2.3", "198.51.100.1, 10.0.0.5", "198.51.100.1"),  # skip trusted hops
        ("10.1.2.3", "1.1.1.1, 198.51.100.1, 10.0.0.5", "198.51.100.1"),  # spoofed left part
        ("10.1.2.3", "not-an-ip", "10.1.2.3"),
        ("10.1.2.3", "10.0.0.7", "10.0.0.7"),
    ],
)
def test_client_ip(peer: str, header: str | None, expected: str) -> None:
    assert client_ip(peer, header, TRUSTED) == expected


def test_no_trusted_proxies_means_peer() -> None:
    assert client_ip("10.1.2.3", "198.51.100.1", []) == "10.1.2.3"


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("", "unknown"),
        ("not-an-ip", "not-an-ip"),
    ],
)
def test_rate_key_counts_an_ipv6_client_by_its_64(address: str, key: str) -> None:
    assert rate_key(address) == key
