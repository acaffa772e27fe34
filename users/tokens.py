"""Encryption at rest of accounts' GitHub tokens (Fernet, keys from settings).

New tokens are encrypted under `TOKEN_ENCRYPTION_KEY`; every key in
`TOKEN_ENCRYPTION_KEYS_OLD` still decrypts (MultiFernet), so the key can be rotated
without losing stored tokens: put the old key in `TOKEN_ENCRYPTION_KEYS_OLD`, a fresh one
in `TOKEN_ENCRYPTION_KEY`, run `manage.py tokens_rotate`, then drop the old key.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _key(secret: str) -> Fernet:
    # Any configured string becomes a valid 32-byte Fernet key.
    digest = hashlib.sha256(secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _fernet() -> MultiFernet:
    keys = [settings.TOKEN_ENCRYPTION_KEY, *settings.TOKEN_ENCRYPTION_KEYS_OLD]
    return MultiFernet([_key(k) for k in dict.fromkeys(keys) if k])


def token_encrypt(token: str) -> str:
    return _fernet().encrypt(token.encode()).decode()


def token_decrypt(encrypted: str) -> str | None:
    """The clear token, or None when empty or encrypted under none of the keys."""
    if not encrypted:
        return None
    try:
        return _fernet().decrypt(encrypted.encode()).decode()
    except InvalidToken:
        return None


def token_reencrypt(encrypted: str) -> str | None:
    """The same token encrypted under the current key; None when no key decrypts it."""
    if not encrypted:
        return None
    try:
        return _fernet().rotate(encrypted.encode()).decode()
    except InvalidToken:
        return None
