"""`llmscale:apiKeys`: one parser and one rule for the keys every gateway (Envoy, or Caddy on the host) checks.

Keys are a JSON object `{"client": "key", ...}` or one bare key (client `default`). A key is 16–512 characters
of `A-Z a-z 0-9 . _ ~ + / = -`: long enough not to be guessed, and safe in an HTTP header and a Caddyfile.
Messages never include a key.
"""

from __future__ import annotations

import json
import re

SECRET_PLACEHOLDER = "[secret]"
KEY = re.compile(r"^[A-Za-z0-9._~+/=-]{16,512}$")
CLIENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def api_key_clients(raw: str) -> dict[str, str]:
    """Client name → key: a JSON object, or one bare key for a client named `default`."""
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = raw
    if isinstance(parsed, dict):
        return {str(client): str(key) for client, key in parsed.items()}
    return {"default": raw}


def api_key_problem(raw: str) -> str | None:
    """What is wrong with the keys, without quoting any of them; None when they are fine."""
    clients = api_key_clients(raw.strip())
    if not clients:
        return 'names no key; give a JSON object {"client": "key"} or one key'
    bad_clients = [name for name in clients if not CLIENT.match(name)]
    if bad_clients:
        return f"client name(s) {', '.join(sorted(bad_clients))} must be letters, digits, '.', '_' or '-'"
    weak = sorted(name for name, key in clients.items() if not KEY.match(key))
    if weak:
        return (
            f"the key of {', '.join(weak)} must be 16-512 characters of A-Z a-z 0-9 . _ ~ + / = - "
            "(e.g. `openssl rand -base64 32`)"
        )
    return None
