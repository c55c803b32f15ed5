"""GitHub App keys for tests: RSA like GitHub's (PKCS#1 PEM, as the App settings page hands it out), made once."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

APP_ID = "4242"
INSTALLATION_ID = 7001


@dataclass(frozen=True)
class AppKey:
    private_pem: str = field(repr=False)
    public_pem: bytes

    @property
    def body_lines(self) -> list[str]:
        """The key's base64 lines: none of them may ever appear in a log, an error or a repr."""
        return [line for line in self.private_pem.splitlines() if line and not line.startswith("-----")]


@functools.cache
def app_key(name: str = "app") -> AppKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return AppKey(private, public)


def ec_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def encrypted_rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"correct horse"),
    ).decode()
