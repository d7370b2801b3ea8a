"""What a preflight check answers (pass, fail or unknown, with how to check by hand), and the AWS errors that make
every answer meaningless (PreflightError) or one answer unknown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    SSOError,
    TokenRetrievalError,
)
from botocore.parsers import ResponseParserError

# boto3 clients are generated at run time; without stub packages they are plain objects to the type checker.
Client = Any


class Status(StrEnum):
    """The answer of one check: pass, fail, or unknown when the account could not be asked."""

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CheckResult:
    """One preflight answer: a stable check name, its status, a one-line detail saying what was found, and the
    region it was asked in (None for global answers such as a hosted zone)."""

    name: str
    status: Status
    detail: str
    region: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """The result as the `--json` document lists it."""
        return {"name": self.name, "status": str(self.status), "detail": self.detail, "region": self.region}


class PreflightError(Exception):
    """The account cannot be asked at all (no or rejected credentials, unreachable endpoint).

    The message is one line for the user; it never contains a credential.
    """


CHECK_REGION = "region"
CHECK_OFFERING = "instance-type-offered"
CHECK_QUOTA = "gpu-vcpu-quota"
CHECK_HOSTED_ZONE = "hosted-zone"
CHECK_KUBERNETES = "kubernetes-version"
CHECK_FAILOVER_ZONE = "failover-hosted-zone"


# --- errors -------------------------------------------------------------------------------------------------

# Client errors that mean "these credentials are not accepted", whichever service answers.
AUTH_ERROR_CODES = frozenset(
    {
        "AuthFailure",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "RequestExpired",
    }
)
CREDENTIAL_ERRORS: tuple[type[Exception], ...] = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    TokenRetrievalError,
    SSOError,
)
CREDENTIALS_HINT = (
    "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws sso login`, then retry"
)


def error_code(error: ClientError) -> str:
    """The AWS error code of a ClientError (`AccessDeniedException`), or the HTTP status when there is none."""
    return str(
        error.response.get("Error", {}).get("Code")
        or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "unknown")
    )


def _operation(error: ClientError) -> str:
    return getattr(error, "operation_name", "") or "the call"


def abort_if_unusable(error: Exception, unreachable_is_fatal: bool = True) -> None:
    """Raise PreflightError for errors after which no check can be answered; return for the rest.

    An unreachable endpoint is fatal unless the caller can live without that one service (Service Quotas has
    its own endpoint, which a locked-down network may not reach). Only error codes and class names are used:
    AWS error messages can carry ARNs and account ids.
    """
    if isinstance(error, CREDENTIAL_ERRORS):
        raise PreflightError(f"no usable AWS credentials ({type(error).__name__}): {CREDENTIALS_HINT}") from None
    if isinstance(error, ClientError) and error_code(error) in AUTH_ERROR_CODES:
        raise PreflightError(
            f"AWS rejected the credentials ({error_code(error)} from {_operation(error)}): {CREDENTIALS_HINT}"
        ) from None
    if unreachable_is_fatal and isinstance(error, EndpointConnectionError | ConnectTimeoutError):
        endpoint = getattr(error, "kwargs", {}).get("endpoint_url", "the AWS endpoint")
        raise PreflightError(
            f"cannot reach {endpoint}: check the region name (aws:region), --endpoint-url and the network"
        ) from None


def api_unknown(name: str, error: Exception, manual: str) -> CheckResult:
    """An unknown result for an API call that failed: which call, why in AWS's words (the code), how to check."""
    if isinstance(error, ClientError):
        code = error_code(error)
        why = {
            "AccessDenied": "the credentials may not make this call",
            "AccessDeniedException": "the credentials may not make this call",
            "UnauthorizedOperation": "the credentials may not make this call",
            "NoSuchResourceException": "the service has no answer for this quota in this region or endpoint",
            "404": "the endpoint does not implement this call",
            "500": "the endpoint failed on this call",
        }.get(code, "the call failed")
        reason = f"{_operation(error)} failed with {code} ({why})"
    elif isinstance(error, EndpointConnectionError | ConnectTimeoutError):
        reason = f"the endpoint cannot be reached ({type(error).__name__})"
    else:
        reason = f"the endpoint's answer could not be read ({type(error).__name__})"
    return CheckResult(name, Status.UNKNOWN, f"{reason}; check by hand: {manual}")


def guarded(name: str, manual: str, check: Callable[[], CheckResult]) -> CheckResult:
    """Run one check; an API failure it did not handle itself becomes unknown, credential failures abort."""
    try:
        return check()
    except (ClientError, BotoCoreError, ResponseParserError) as error:
        abort_if_unusable(error)
        return api_unknown(name, error, manual)
