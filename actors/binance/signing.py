"""Binance request signing: HMAC-SHA256 (hex) for classic keys, Ed25519 or RSA (base64) for PEM keys.

REST signs the query string plus the body exactly as sent (percent-encoded);
the WebSocket API signs every parameter but `signature`, sorted by name and
joined `k=v&...` without percent-encoding (binance.md section 2).

The key material lives only in the `Secret` and in the loaded private key;
nothing here puts it, or a signature, into a repr or a log line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from actors._lib.secrets import Secret

Params = Mapping[str, Any] | Iterable[tuple[str, Any]]


def _items(params: Params) -> list[tuple[str, Any]]:
    return list(params.items()) if isinstance(params, Mapping) else list(params)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def rest_payload(params: Params) -> str:
    """The query-string form Binance signs: `k=v&...` in the given order, percent-encoded (UTF-8)."""
    return urlencode([(k, _text(v)) for k, v in _items(params)], quote_via=quote, safe="")


def ws_payload(params: Params) -> str:
    """The WebSocket API form: every param but `signature`, sorted by name, not percent-encoded."""
    items = sorted((k, _text(v)) for k, v in _items(params) if k != "signature")
    return "&".join(f"{k}={v}" for k, v in items)


def hmac_sha256_hex(secret: str, payload: str) -> str:
    return hmac.new(secret.encode("utf-8"), payload.encode("utf-8"), hashlib.sha256).hexdigest()


def is_pem_private_key(text: str) -> bool:
    head = text.lstrip()
    return head.startswith("-----BEGIN") and "PRIVATE KEY-----" in head


class Signer:
    """Signs payloads with one API secret; the key type is detected from the secret itself.

    An HMAC secret is an opaque string; an Ed25519 (or RSA) key is a PEM
    private key (`-----BEGIN PRIVATE KEY-----`), possibly with its newlines
    written as `\\n` so that it fits in one `.env` line.
    """

    __slots__ = ("_key", "_secret", "kind")

    def __init__(self, secret: Secret) -> None:
        self._secret = secret
        self._key: Any = None
        text = secret.reveal()
        if is_pem_private_key(text):
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

            pem = text.strip().replace("\\n", "\n").encode("ascii")
            try:
                key = serialization.load_pem_private_key(pem, password=None)
            except Exception:  # noqa: BLE001 - any failure: one message that never echoes the key material back
                raise ValueError("the Binance API secret looks like a PEM key but cannot be loaded") from None
            if isinstance(key, ed25519.Ed25519PrivateKey):
                self.kind = "ed25519"
            elif isinstance(key, rsa.RSAPrivateKey):
                self.kind = "rsa"
            else:
                raise ValueError("only Ed25519 and RSA PEM keys (or an HMAC secret) are supported by Binance")
            self._key = key
        else:
            self.kind = "hmac"

    def sign(self, payload: str) -> str:
        """Hex for HMAC; standard base64 for Ed25519/RSA (percent-encode it in a URL: `rest_signature`)."""
        data = payload.encode("utf-8")
        if self.kind == "hmac":
            return hmac_sha256_hex(self._secret.reveal(), payload)
        if self.kind == "ed25519":
            return base64.b64encode(self._key.sign(data)).decode("ascii")
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        return base64.b64encode(self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")

    def rest_signature(self, payload: str) -> str:
        """The value to append as `&signature=`: base64 signatures are percent-encoded (+ / =)."""
        sig = self.sign(payload)
        return sig if self.kind == "hmac" else quote(sig, safe="")

    def sign_ws(self, params: Params) -> str:
        return self.sign(ws_payload(params))

    def __repr__(self) -> str:
        return f"Signer(kind={self.kind!r})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Signer cannot be pickled")
