"""`llmscale:apiKeys`: one parser and one rule for the keys every gateway (Envoy, or Caddy on the host) checks.

Keys are a JSON object `{"client": "key", ...}` or one bare key (client `default`). A key is 16–512 characters
of `A-Z a-z 0-9 . _ ~ + / = -`: long enough not to be guessed, and safe in an HTTP header and a Caddyfile.
Messages never include any part of the value: clients are named by their place in the object.
"""

from __future__ import annotations

import json
import re

SECRET_PLACEHOLDER = "[secret]"
KEY = re.compile(r"^[A-Za-z0-9._~+/=-]{16,512}$")
CLIENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
KEY_RULE = "16-512 characters of A-Z a-z 0-9 . _ ~ + / = - (e.g. `openssl rand -base64 32`)"


class _JsonObject(list[tuple[str, object]]):
    """A JSON object's members in the order written, duplicates kept (json's dict would keep the last)."""


def _pairs(raw: str) -> list[tuple[str, str]] | None:
    """The (client, key) pairs of a JSON object in the order written, or None when `raw` is not a JSON object."""
    try:
        parsed = json.loads(raw, object_pairs_hook=_JsonObject)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, _JsonObject):
        return None
    return [(str(client), key if isinstance(key, str) else "") for client, key in parsed]


def api_key_clients(raw: str) -> dict[str, str]:
    """Client name → key: a JSON object, or one bare key for a client named `default`."""
    pairs = _pairs(raw)
    return dict(pairs) if pairs is not None else {"default": raw}


def _numbered(positions: list[int]) -> str:
    return ", ".join(f"#{position}" for position in positions)


def api_key_problem(raw: str) -> str | None:
    """What is wrong with the keys, naming clients by their place in the object (#1 first), never by name.

    A client name may itself be key material (keys and names swapped, a key pasted as a name), so no part of the
    value is ever quoted.
    """
    text = raw.strip()
    pairs = _pairs(text)
    if pairs is None:
        if KEY.match(text):
            return None
        return f"the key must be {KEY_RULE}"
    if not pairs:
        return 'names no key; give a JSON object {"client": "key"} or one key'
    bad_names = [n for n, (client, _) in enumerate(pairs, 1) if not CLIENT.match(client)]
    if bad_names:
        return (
            f"the name of client {_numbered(bad_names)} (counting from 1 in the order written) must be 1-63 "
            "letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    first: dict[str, int] = {}
    for n, (client, _) in enumerate(pairs, 1):
        if client in first:
            return f"clients #{first[client]} and #{n} (counting from 1 in the order written) have the same name"
        first[client] = n
    weak = [n for n, (_, key) in enumerate(pairs, 1) if not KEY.match(key)]
    if weak:
        return f"the key of client {_numbered(weak)} (counting from 1 in the order written) must be {KEY_RULE}"
    return None
