"""Moved to `actors.binance.signing`; this name stays for old imports."""

from actors.binance.signing import Params, Signer, hmac_sha256_hex, is_pem_private_key, rest_payload, ws_payload

__all__ = ["Params", "Signer", "hmac_sha256_hex", "is_pem_private_key", "rest_payload", "ws_payload"]
