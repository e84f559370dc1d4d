"""Binance request signing: the official vectors (binance.md section 2) and key-type handling."""

from __future__ import annotations

import base64
from urllib.parse import unquote

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from actors._lib.secrets import Secret
from actors.binance.signing import Signer, hmac_sha256_hex, is_pem_private_key, rest_payload, ws_payload

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"

REST_PARAMS = [
    ("symbol", "LTCBTC"),
    ("side", "BUY"),
    ("type", "LIMIT"),
    ("timeInForce", "GTC"),
    ("quantity", "1"),
    ("price", "0.1"),
    ("recvWindow", "5000"),
    ("timestamp", "1499827319559"),
]


def test_rest_hmac_official_vector() -> None:
    payload = rest_payload(REST_PARAMS)
    assert payload == (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    )
    signer = Signer(Secret(SECRET))
    assert signer.kind == "hmac"
    assert signer.sign(payload) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    assert signer.rest_signature(payload) == signer.sign(payload)  # hex needs no percent-encoding


def test_rest_hmac_non_ascii_vector_is_signed_percent_encoded() -> None:
    params = [("symbol", "１２３４５６"), *REST_PARAMS[1:]]
    payload = rest_payload(params)
    assert payload.startswith("symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY")
    assert hmac_sha256_hex(SECRET, payload) == "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"


def test_ws_api_official_vector_sorted_and_unencoded() -> None:
    params = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01000000",
        "price": "52000.00",
        "recvWindow": 100,
        "timestamp": 1645423376532,
        "apiKey": API_KEY,
        "signature": "ignored: never part of the payload",
    }
    assert ws_payload(params) == (
        f"apiKey={API_KEY}&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL"
        "&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT"
    )
    assert Signer(Secret(SECRET)).sign_ws(params) == "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"


def _ed25519_pem() -> tuple[ed25519.Ed25519PrivateKey, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key, pem


def test_ed25519_sign_and_verify_round_trip() -> None:
    key, pem = _ed25519_pem()
    assert is_pem_private_key(pem)
    signer = Signer(Secret(pem))
    assert signer.kind == "ed25519"
    payload = rest_payload(REST_PARAMS)
    sig = signer.sign(payload)
    key.public_key().verify(base64.b64decode(sig), payload.encode())  # raises if wrong
    # in a URL it is percent-encoded (+ / =), and decodes back to the same signature
    in_url = signer.rest_signature(payload)
    assert not set("+/=") & set(in_url)
    assert unquote(in_url) == sig
    # WS-API: the same key signs the sorted payload
    ws_sig = signer.sign_ws({"timestamp": 1, "apiKey": "k"})
    key.public_key().verify(base64.b64decode(ws_sig), b"apiKey=k&timestamp=1")


def test_ed25519_pem_written_on_one_env_line_works() -> None:
    key, pem = _ed25519_pem()
    one_line = pem.strip().replace("\n", "\\n")
    signer = Signer(Secret(one_line))
    sig = signer.sign("a=1")
    key.public_key().verify(base64.b64decode(sig), b"a=1")


def test_signer_never_shows_the_key() -> None:
    _, pem = _ed25519_pem()
    for secret in (SECRET, pem):
        signer = Signer(Secret(secret))
        for text in (repr(signer), str(signer)):
            assert secret not in text
            assert "PRIVATE" not in text
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(Signer(Secret(SECRET)))


def test_a_broken_pem_fails_without_echoing_it() -> None:
    broken = "-----BEGIN PRIVATE KEY-----\nnot base64 at all, secret stuff\n-----END PRIVATE KEY-----\n"
    with pytest.raises(ValueError) as info:
        Signer(Secret(broken))
    assert "secret stuff" not in str(info.value)
