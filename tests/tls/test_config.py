"""Configuration checks: mistakes of our caller are LocalProtocolError at construction."""

from __future__ import annotations

import dataclasses

import pytest

from engine.errors import LocalProtocolError
from engine.tls import CIPHER_SUITES, GROUPS, SIGNATURE_SCHEMES, ClientConfig, ServerConfig


def test_published_names():
    assert CIPHER_SUITES == ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                             "TLS_CHACHA20_POLY1305_SHA256")
    assert GROUPS == ("x25519", "secp256r1", "secp384r1", "X25519MLKEM768")
    assert set(SIGNATURE_SCHEMES) == {
        "ecdsa_secp256r1_sha256", "ecdsa_secp384r1_sha384", "rsa_pss_rsae_sha256",
        "rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512", "ed25519"}


@pytest.mark.parametrize("options", [
    {"cipher_suites": ("TLS_RSA_WITH_RC4_128_MD5",)},
    {"cipher_suites": ()},
    {"groups": ("ffdhe2048",)},
    {"key_share_groups": ("secp384r1",), "groups": ("x25519",)},
    {"signature_schemes": ("rsa_pkcs1_sha1",)},
    {"alpn_protocols": ("",)},
    {"alpn_protocols": ("x" * 256,)},
])
def test_bad_client_options(pki, options):
    with pytest.raises(LocalProtocolError):
        ClientConfig(trust=pki.trust, **options)


@pytest.mark.parametrize("options", [
    {"certificates": ()},
    {"verify_client": "sometimes"},
    {"verify_client": "require"},  # without a trust store
])
def test_bad_server_options(pki, options):
    options.setdefault("certificates", [pki.servers["p256"]])
    with pytest.raises(LocalProtocolError):
        ServerConfig(**options)


def test_configs_are_frozen_and_take_lists(pki):
    config = ClientConfig(trust=pki.trust, cipher_suites=["TLS_AES_128_GCM_SHA256"],
                          alpn_protocols=["h2"])
    assert config.cipher_suites == ("TLS_AES_128_GCM_SHA256",)
    assert config.alpn_protocols == ("h2",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.verify = False
    again = dataclasses.replace(config, server_name="example.com")
    assert again.server_name == "example.com" and again.alpn_protocols == ("h2",)
