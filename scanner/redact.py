"""The only code that turns a raw match into something printable: masked previews and keyed hashes.

Raw values never leave the detector: it calls ``protect()`` and keeps only the result.

* ``value_hash``: HMAC-SHA256 keyed with ``SOVSCAN_HASH_KEY`` (or the settings key), over the
  value normalised (case-folded, whitespace and separators removed for identifiers), truncated to
  16 hex digits. With a secret key, a hash cannot be reversed by enumerating e.g. all TFNs.
* ``preview``: enough shape to recognise the kind of value, never enough to recover it. Digits of
  identifiers keep at most the last 3 (cards: last 4, as PCI DSS 3.4.1 allows BIN + last 4);
  words keep their first letter; e-mail keeps the first letter of the mailbox and the TLD.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

DEFAULT_KEY = b"sovscan-default-key:set-SOVSCAN_HASH_KEY"
_SEPARATORS = re.compile(r"[\s\-./()]+")


def hash_key(explicit: str | None = None) -> bytes:
    value = explicit or os.environ.get("SOVSCAN_HASH_KEY")
    return value.encode("utf-8") if value else DEFAULT_KEY


def value_hash(value: str, key: bytes) -> str:
    normal = value.casefold()
    stripped = _SEPARATORS.sub("", normal)
    if sum(c.isdigit() for c in stripped) >= max(4, len(stripped) // 2):
        normal = stripped
    else:
        normal = " ".join(normal.split())
    return hmac.new(key, normal.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def _mask_digits(value: str, keep: int) -> str:
    total = sum(c.isdigit() for c in value)
    seen = 0
    out = []
    for c in value:
        if c.isdigit():
            seen += 1
            out.append(c if seen > total - keep else "*")
        elif c.isalpha():
            out.append("*")
        else:
            out.append(c)
    return "".join(out)


def _mask_word(word: str) -> str:
    if len(word) <= 1:
        return "*"
    return word[0] + "*" * min(len(word) - 1, 8)


def preview(value: str, entity: str) -> str:
    """A masked rendering of ``value`` that keeps its shape but not its content."""
    value = " ".join(value.split())
    if len(value) > 64:
        value = value[:64]
    if entity == "EMAIL_ADDRESS" and "@" in value:
        local, _, domain = value.rpartition("@")
        tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
        return f"{local[:1]}***@***.{tld}" if tld else f"{local[:1]}***@***"
    digits = sum(c.isdigit() for c in value)
    if digits >= 6 and digits >= len(value) // 2:
        keep = 4 if entity == "CREDIT_CARD" else 3
        return _mask_digits(value, min(keep, digits // 3))
    if entity in {"PERSON", "LOCATION", "NRP", "ORGANIZATION"}:
        return " ".join(_mask_word(w) for w in value.split(" "))
    if len(value) <= 4:
        return "*" * len(value)
    # Secrets, URLs and everything else: a short prefix (e.g. "sk-", "eyJ") and the length.
    prefix_len = 3 if len(value) >= 12 else 1
    return f"{value[:prefix_len]}…[{len(value)} chars]"


def protect(value: str, entity: str, key: bytes) -> tuple[str, str]:
    """Return (value_hash, preview) for a raw match."""
    return value_hash(value, key), preview(value, entity)


_SECRET_ARG = re.compile(r"(?i)(key|token|secret|password|passwd|pwd|auth|credential)")


def mask_argv(argv: list[str]) -> list[str]:
    """Mask command-line values that look like secrets (for provenance in reports)."""
    out: list[str] = []
    mask_next = False
    for arg in argv:
        if mask_next:
            out.append("****")
            mask_next = False
            continue
        if arg.startswith("-") and _SECRET_ARG.search(arg):
            if "=" in arg:
                out.append(arg.split("=", 1)[0] + "=****")
            else:
                out.append(arg)
                mask_next = True
            continue
        if re.search(r"(sk-|AKIA|eyJ|ghp_|xox[bp]-)[A-Za-z0-9_\-]{8,}", arg):
            out.append("****")
            continue
        out.append(arg)
    return out
