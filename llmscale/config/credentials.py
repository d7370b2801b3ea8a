"""Credentials where a stack file must not hold them: vLLM flags that take one, and values that look like one.

A stack file is committed to git, and its free-form strings reach `plan --json`, rendered manifests, diffs and
(single host) EC2 user data. Credentials belong in the stack's secret settings, set with `pulumi config set
--secret`. Every description here names the kind of credential and where it belongs, never the value.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

HF_TOKEN_SETTING = "llmscale:hfToken"
API_KEYS_SETTING = "llmscale:apiKeys"
SLACK_SETTING = "llmscale:slackWebhookUrl"

# vLLM 0.33.0 flags whose value is a credential, read from the wheel (vllm-0.33.0, Apache-2.0):
#   --hf-token    EngineArgs.hf_token (vllm/engine/arg_utils.py), ModelConfig.hf_token (vllm/config/model.py): the
#                 bearer token for the Hugging Face Hub.
#   --api-key     FrontendArgs.api_key (vllm/entrypoints/common/cli_args.py): the keys the OpenAI server accepts.
#   --seed-token  "Shared secret for daemon-to-daemon requests" of `vllm preload` (vllm/entrypoints/cli/preload.py).
# and flags whose JSON value can carry one:
#   --watermark-config  WatermarkConfig.key, "Secret key used to watermark generated text"
#                       (vllm/config/watermarking.py).
# vLLM parses with argparse's default allow_abbrev=True (FlexibleArgumentParser in vllm/utils/argparse_utils.py does
# not turn it off), so an unambiguous prefix such as `--hf-tok` reaches the same flag.
CREDENTIAL_FLAGS: dict[str, str | None] = {
    "--hf-token": HF_TOKEN_SETTING,
    "--api-key": API_KEYS_SETTING,
    "--seed-token": None,
}
# Names that say they hold a credential (flags, JSON fields, URL query parameters), by their words: any of
# `_ANY_WORDS`; or a last word `token` (not a tokenizer's `eos_token` nor a `page_token`); or a last word `key` alone
# or owned by one of `_KEY_OWNERS` (`api_key`, `routing_key`, but not Confluence's `spaceKey`).
_ANY_WORDS = frozenset(
    {"secret", "password", "passwd", "passphrase", "credential", "credentials", "apikey", "signature", "sig"}
)
_TOKEN_NOT_SECRET = frozenset(
    {"eos", "bos", "pad", "unk", "sep", "cls", "mask", "start", "end", "stop", "special", "image", "video", "audio"}
    | {"page", "next", "continuation", "sync", "max", "min", "num", "per", "first", "last"}
)
_KEY_OWNERS = frozenset(
    {"api", "access", "secret", "private", "auth", "client", "subscription", "app", "master", "signing"}
    | {"encryption", "account", "service", "sas", "routing", "license", "integration", "webhook", "hf"}
)


@dataclass(frozen=True)
class Credential:
    """What a value looks like (`a Hugging Face token`) and the secret setting it belongs in, if llmscale has one."""

    kind: str
    setting: str | None = None
    by_name: bool = False  # found by a flag or field name that says so, rather than by how the value looks


# Well-known token formats, each with the literal(s) a match contains (a quick test before the pattern runs). Each
# pattern starts where none of its own characters precede it and has no constraint after its body, so a search is
# linear in the text's length (a hostile value cannot make it backtrack).
_PATTERNS: tuple[tuple[str | tuple[str, ...], re.Pattern[str], Credential], ...] = (
    ("hf_", re.compile(r"(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{30}"), Credential("a Hugging Face token", HF_TOKEN_SETTING)),
    (
        "api_org_",
        re.compile(r"(?<![A-Za-z0-9_])api_org_[A-Za-z0-9]{30}"),
        Credential("a Hugging Face token", HF_TOKEN_SETTING),
    ),
    ("sk-", re.compile(r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20}"), Credential("an API secret key (sk-…)")),
    (
        ("sk_", "rk_"),
        re.compile(r"(?<![A-Za-z0-9_])[rs]k_(live|test)_[A-Za-z0-9]{16}"),
        Credential("an API secret key"),
    ),
    (
        ("AKIA", "ASIA", "ABIA", "ACCA"),
        re.compile(r"(?<![A-Z0-9])(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])"),
        Credential("an AWS access key id"),
    ),
    (
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        re.compile(r"(?<![A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36}|github_pat_\w{40})"),
        Credential("a GitHub token"),
    ),
    ("glpat-", re.compile(r"(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20}"), Credential("a GitLab token")),
    ("xox", re.compile(r"(?<![A-Za-z0-9-])xox[abposr]-[A-Za-z0-9-]{10}"), Credential("a Slack token")),
    ("hooks.slack.com", re.compile(r"hooks\.slack\.com/services/"), Credential("a Slack webhook URL", SLACK_SETTING)),
    ("AIza", re.compile(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}"), Credential("a Google API key")),
    (
        "eyJ",
        re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\."),
        Credential("a JSON web token"),
    ),
    ("PRIVATE KEY", re.compile(r"-----BEGIN [A-Z ]{0,40}PRIVATE KEY"), Credential("a private key")),
)
_QUERY_NAME = re.compile(r"[?&;]([A-Za-z0-9_.-]{1,64})=")
_URL_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s:@]*:[^/?#\s@]*@")
# Random key material. Model ids, image tags and paths are words joined by '-', '.', '_' or '/'; hex digests and
# commit ids (a `--revision`) are one case only. Key material mixes upper case, lower case and digits throughout,
# with the spread of characters a random string has: either one long run of letters and digits, or a base64 run
# whose pieces between '+', '/', '-', '_' are mostly such runs. Measured in benchmarks/credential_detection.py:
# no false positive over well-known model ids and image references; 32 random bytes in base64 are caught ~95 %.
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]{24,}")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=_-]{32,}")
_LONG_PIECE = re.compile(r"[A-Za-z0-9]{8,}")
_UPPER, _LOWER, _DIGIT = re.compile("[A-Z]"), re.compile("[a-z]"), re.compile("[0-9]")


def _words(name: str) -> list[str]:
    """`--hf-token` → [hf, token]; `hfToken` → [hf, token]; `X-Amz-Signature` → [x, amz, signature]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [word for word in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if word]


def names_credential(name: str) -> bool:
    """True when a flag, field or parameter name says it holds a credential (`--hf-token`, `apiKey`, `password`)."""
    words = _words(name)
    if not words:
        return False
    if any(word in _ANY_WORDS for word in words):
        return True
    before = words[-2] if len(words) > 1 else None
    if words[-1] == "token":
        return before not in _TOKEN_NOT_SECRET
    if words[-1] == "key":
        return before is None or before in _KEY_OWNERS
    return False


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _mixed(text: str) -> bool:
    return bool(_UPPER.search(text) and _LOWER.search(text) and _DIGIT.search(text))


def _random_run(text: str) -> bool:
    if any(_mixed(run) and _entropy(run) >= 3.9 for run in _ALNUM_RUN.findall(text)):
        return True
    for run in _BASE64_RUN.findall(text):
        letters_and_digits = len(run) - sum(run.count(c) for c in "+/=_-")
        random_chars = sum(len(piece) for piece in _LONG_PIECE.findall(run) if _mixed(piece))
        if random_chars >= 0.7 * letters_and_digits and _entropy(run) >= 4.2:
            return True
    return False


def _url_credential(text: str) -> Credential | None:
    if _URL_USERINFO.match(text):
        return Credential("a URL with a password in it")
    if "://" in text and any(names_credential(name) for name in set(_QUERY_NAME.findall(text))):
        return Credential("a URL with a credential in its query")
    return None


def looks_like_credential(text: str) -> Credential | None:
    """What kind of credential `text` looks like, or None. Never returns any part of the text."""
    for literals, pattern, credential in _PATTERNS:
        hinted = literals in text if isinstance(literals, str) else any(literal in text for literal in literals)
        if hinted and pattern.search(text):
            return credential
    url = _url_credential(text)
    if url is not None:
        return url
    if _random_run(text):
        return Credential("random key material (a long string of mixed letters and digits)")
    return None


def where_it_belongs(credential: Credential) -> str:
    """The fix for a credential found in a stack file's plain values: the secret setting to use instead."""
    if credential.setting is not None:
        return f"store it with `pulumi config set --secret {credential.setting} ...`"
    return (
        "remove it: llmscale takes credentials only from its secret settings (llmscale:hfToken, llmscale:apiKeys, "
        "…), set with `pulumi config set --secret`"
    )


def _flag_credential(flag: str) -> Credential | None:
    """The credential a vLLM flag takes, also when abbreviated (argparse accepts `--hf-tok` for `--hf-token`)."""
    for known, setting in CREDENTIAL_FLAGS.items():
        stem = known.rsplit("-", 1)[0]
        if known.startswith(flag) and len(flag) > len(stem) + 1:
            return Credential(f"the vLLM flag {known}, which takes a credential", setting, by_name=True)
    if names_credential(flag.removeprefix("--")):
        return Credential("a flag whose name says it takes a credential", by_name=True)
    return None


def _json_credential(text: str) -> Credential | None:
    """A credential inside a JSON flag value (`--watermark-config={"key": …}`): by key name or by value."""
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        stack = [json.loads(text)]
    except (ValueError, RecursionError):
        return None
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if names_credential(str(key)):
                    return Credential("JSON with a field named like a credential", by_name=True)
                stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)
    return None


def extra_args_credentials(args: Sequence[str]) -> list[tuple[int, Credential]]:
    """The `extraArgs` entries (by position) that are credential flags or carry a credential, in order.

    A flag's value is `--flag=value` or the entry after `--flag`; both are checked by name (JSON values by their
    field names too) and by what they look like.
    """
    found: list[tuple[int, Credential]] = []
    for index, arg in enumerate(args):
        flag, has_value, value = arg.partition("=")
        credential = None
        if flag.startswith("--"):
            credential = _flag_credential(flag)
        if credential is None:
            checked = value if (flag.startswith("--") and has_value) else arg
            credential = _json_credential(checked) or looks_like_credential(checked)
        if credential is not None:
            found.append((index, credential))
    return found


def extra_args_problem(args: Sequence[str]) -> str | None:
    """One message for every credential in a profile's `extraArgs`, naming entries by position; None when clean."""
    found = extra_args_credentials(args)
    if not found:
        return None
    entries = "; ".join(
        f"entry {index} {'is' if credential.by_name else 'looks like'} {credential.kind}" for index, credential in found
    )
    them = "them" if len(found) > 1 else "it"
    settings = sorted({c.setting for _, c in found if c.setting is not None})
    if settings:
        fix = f"remove {them} and run " + " or ".join(f"`pulumi config set --secret {s} ...`" for s in settings)
    else:
        fix = f"remove {them}: llmscale passes credentials only from its secret settings (`pulumi config set --secret`)"
    return f"{entries}: the vLLM command line shows in plan output, manifests and user data; {fix}"


def find_credentials(
    value: Any, loc: list[str | int], skip: Callable[[list[str | int]], bool] = lambda loc: False
) -> list[tuple[list[str | int], Credential, bool]]:
    """Every string in a config value (mapping keys included) that looks like a credential.

    Returns (location, credential, is_key) in document order; locations for which `skip` is true are not
    searched (values checked elsewhere, such as `extraArgs`).
    """
    if skip(loc):
        return []
    if isinstance(value, str):
        credential = looks_like_credential(value)
        return [(loc, credential, False)] if credential else []
    found: list[tuple[list[str | int], Credential, bool]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            credential = looks_like_credential(str(key))
            if credential is not None:
                found.append((loc, credential, True))
                continue
            found.extend(find_credentials(item, [*loc, str(key)], skip))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(find_credentials(item, [*loc, index], skip))
    return found
