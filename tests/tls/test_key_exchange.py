"""Key exchange for every group, and the peer shares that must be refused (RFC 8446 4.2.8)."""

from __future__ import annotations

import pytest

from engine.errors import IllegalParameterError
from engine.tls.constants import GROUPS
from engine.tls.key_exchange import KeyShare, server_exchange

SIZES = {  # (client share, server share, shared secret)
    "x25519": (32, 32, 32),
    "secp256r1": (65, 65, 32),
    "secp384r1": (97, 97, 48),
    "X25519MLKEM768": (1216, 1120, 64),
}


@pytest.mark.parametrize("group", GROUPS)
def test_both_sides_agree(group):
    client = KeyShare(group)
    server_share, secret = server_exchange(group, client.public)
    assert (len(client.public), len(server_share), len(secret)) == SIZES[group]
    assert client.exchange(server_share) == secret


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("delta", [-1, 1])
def test_share_of_the_wrong_length_is_illegal_parameter(group, delta):
    client = KeyShare(group)
    with pytest.raises(IllegalParameterError):
        server_exchange(group, client.public + b"\x00" if delta > 0 else client.public[:-1])
    server_share, _ = server_exchange(group, client.public)
    with pytest.raises(IllegalParameterError):
        client.exchange(server_share + b"\x00" if delta > 0 else server_share[:-1])


@pytest.mark.parametrize("group", ["secp256r1", "secp384r1"])
def test_point_off_the_curve_is_illegal_parameter(group):
    size = SIZES[group][0]
    bogus = b"\x04" + b"\x01" * (size - 1)
    with pytest.raises(IllegalParameterError):
        server_exchange(group, bogus)
    with pytest.raises(IllegalParameterError):
        KeyShare(group).exchange(bogus)


@pytest.mark.parametrize("group", ["secp256r1", "secp384r1"])
def test_compressed_point_is_illegal_parameter(group):
    public = KeyShare(group).public
    compressed = bytes((2 + (public[-1] & 1),)) + public[1:1 + (len(public) - 1) // 2]
    with pytest.raises(IllegalParameterError):
        server_exchange(group, compressed + b"\x00" * (len(public) - len(compressed)))


@pytest.mark.parametrize("small_order", [bytes(32), b"\x01" + bytes(31)])
def test_x25519_small_order_point_is_illegal_parameter(small_order):
    with pytest.raises(IllegalParameterError):
        server_exchange("x25519", small_order)
    with pytest.raises(IllegalParameterError):
        server_exchange("X25519MLKEM768", KeyShare("X25519MLKEM768").public[:1184] + small_order)


def test_mlkem_encapsulation_key_out_of_range_is_illegal_parameter():
    x25519_part = KeyShare("x25519").public
    with pytest.raises(IllegalParameterError):
        server_exchange("X25519MLKEM768", b"\xff" * 1184 + x25519_part)
