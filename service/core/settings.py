"""Typed settings shared by the web app, the workers and the CLI.

Every setting is read once from a ``COMMENTGATE_*`` environment variable into a
:class:`Settings` object and validated at start-up: an invalid value stops the
process with a message that names the variable.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from limits import parse_many
from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.core.development import (
    PRODUCTION_REDIS_URL,
    default_env,
    default_redis_url,
    development_secret,
)
from service.core.exceptions import ConfigurationError
from service.core.redis_client import is_sentinel, parse_sentinel_url

ENV_PREFIX = "COMMENTGATE_"

Operation = Literal["+", "-", "x"]
_DEFAULT_OPERATIONS: tuple[Operation, ...] = ("+", "-", "x")
CommaList = Annotated[list[str], NoDecode]


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)
#: Prefix of a Standard Webhooks signing secret: ``whsec_`` then base64 key bytes.
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)
#: Settings that were replaced; setting one stops start-up with a pointer to the new one.
_REPLACED = {
    "COMMENTGATE_WEBHOOK_URLS": "COMMENTGATE_WEBHOOKS",
    "COMMENTGATE_WEBHOOK_SECRET": "COMMENTGATE_WEBHOOKS",
}


def parse_webhooks(value: str) -> dict[str, SecretStr]:
    """Split ``URL=whsec_…`` pairs (comma separated) into receiver URL -> secret.

    The split is at the last ``=whsec_`` of each pair, which base64 never contains,
    so a receiver URL may carry ``=`` in its query string.

    Raises:
        ValueError: A pair without a ``whsec_`` secret (the message never quotes it).
    """
    receivers: dict[str, SecretStr] = {}
    for i, pair in enumerate(_split_commas(value), start=1):
        url, sep, key = pair.rpartition("=" + WEBHOOK_SECRET_PREFIX)
        if not sep or not url.strip():
            raise ValueError(
                f"receiver {i} must be given as URL=whsec_<base64 secret>, one per receiver"
            )
        if url.strip() in receivers:
            raise ValueError(f"receiver {i} repeats the URL of an earlier one")
        receivers[url.strip()] = SecretStr(WEBHOOK_SECRET_PREFIX + key.strip())
    return receivers


def webhook_key(secret: str, *, receiver: int = 0) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` webhook secret (Standard Webhooks).

    Raises:
        ValueError: Not ``whsec_`` and base64 of 24 to 64 bytes.
    """
    which = f"receiver {receiver}'s secret" if receiver else "the secret"
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        raise ValueError(f"{which} must start with {WEBHOOK_SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{which} is not whsec_ followed by base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError(f"{which} must encode 24 to 64 random bytes (it has {len(key)})")
    return key


class Settings(BaseSettings):
    """Every knob of commentgate; see the settings table in README.md."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, validate_default=True
    )

    env: Literal["production", "development"] = Field(
        default_factory=lambda: default_env(),
        description="`development` (the default in a folder holding `.commentgate/`, which "
        "`commentgate dev` makes) keeps a generated secret key in `.commentgate/secret_key` "
        "and uses the Redis `commentgate dev` embeds; `production` (the default elsewhere) "
        "requires `COMMENTGATE_SECRET_KEY`.",
        json_schema_extra={"doc_default": "production"},
    )
    redis_url: str = Field(
        default_factory=lambda data: default_redis_url(data.get("env")),
        description="Redis holding comments, queues and state; in development, the Redis "
        "`commentgate dev` embeds (a Unix socket in `.commentgate/`).",
        json_schema_extra={"doc_default": PRODUCTION_REDIS_URL},
    )
    secret_key: SecretStr | None = Field(
        None, description="Signs captcha tokens and sessions. Required in production."
    )
    model_path: Path | None = Field(
        None, description="Classifier model file (.skops); empty means the shipped model."
    )
    publish_below: float | None = Field(
        None, ge=0, le=1, description="Publish below this spam probability (default: model card)."
    )
    spam_above: float | None = Field(
        None, ge=0, le=1, description="File as spam at or above this (default: model card)."
    )
    max_links: int = Field(2, ge=0, description="More links than this hold a comment at least.")
    max_phone_numbers: int = Field(
        0,
        ge=0,
        description="More phone numbers than this hold a comment at least (support-line and "
        "investment scams).",
    )
    premoderation: bool = Field(False, description="Hold every comment the model would publish.")

    body_max_chars: int = Field(5000, ge=1, le=100_000, description="Longest comment body.")
    author_name_required: bool = Field(True, description="Require `author_name` on intake.")
    max_request_bytes: int = Field(
        64 * 1024, ge=1024, description="Request bodies larger than this get 413."
    )

    captcha_ttl_seconds: int = Field(600, ge=10, description="How long a captcha token is valid.")
    commenter_token_ttl_days: int = Field(
        365,
        ge=1,
        le=3650,
        description="Days a commenter token (proof of an earlier published comment) stays "
        "valid after it is issued.",
    )
    captcha_operations: Annotated[list[Operation], NoDecode] = Field(
        default_factory=lambda: list(_DEFAULT_OPERATIONS),
        description="Captcha operations, comma separated, from `+`, `-`, `x`.",
    )
    captcha_max_operand: int = Field(10, ge=2, le=99, description="Largest captcha operand.")
    captcha_min_solve_seconds: float = Field(
        2.0, ge=0, description="Answers faster than this carry reason `too_fast`."
    )
    honeypot_field: str = Field(
        "hp_website", min_length=1, description="Form field humans never fill."
    )

    allowed_origins: CommaList = Field(
        default_factory=list, description="Origins allowed to call the API from browsers (CORS)."
    )
    trusted_proxies: CommaList = Field(
        default_factory=list,
        description="Proxy addresses/networks whose X-Forwarded-For is honoured.",
    )

    rate_limits_enabled: bool = Field(True, description="Apply the per-client rate limits.")
    rate_limit_captcha: str = Field(
        "60/minute", description="Captchas one client may fetch (Flask-Limiter syntax)."
    )
    rate_limit_comments: str = Field(
        "20/minute;500/day", description="Comments one client may post."
    )
    rate_limit_login: str = Field("10/minute", description="Moderator login attempts per client.")
    rate_limit_site: str = Field(
        "600/minute",
        description="Comments one site's server may post in all, with its site key "
        "(`commentgate sites configure NAME --rate-limit` overrides it per site).",
    )
    captcha_max_attempts: int = Field(
        3, ge=1, le=20, description="Wrong answers a captcha token allows before it is spent."
    )

    webhooks: Annotated[dict[str, SecretStr], NoDecode] = Field(
        default_factory=dict,
        description="Receivers of comment events and each one's signing secret, comma "
        "separated `URL=whsec_<base64>` pairs (see docs/operations.md).",
    )
    webhook_timeout_seconds: float = Field(5.0, gt=0, description="Per-delivery HTTP timeout.")
    webhook_max_retries: int = Field(5, ge=0, le=20, description="Delivery retries before failing.")

    webhook_backoff_seconds: int = Field(
        5, ge=1, le=3600, description="First retry delay; doubles with each retry."
    )

    metrics_token: SecretStr | None = Field(
        None, description="If set, /metrics requires `Authorization: Bearer <token>`."
    )

    retention_days: int = Field(
        30, ge=1, le=3650, description="Spam and rejected comments are purged after this."
    )
    ip_retention_days: int = Field(
        30,
        ge=1,
        le=3650,
        description="Days a comment keeps its IP address and user agent; then the address "
        "becomes a keyed hash and the user agent is dropped.",
    )

    secure_cookies: bool | None = Field(
        None, description="Mark the moderator session cookie Secure (default: on in production)."
    )

    # -- learning from moderators --
    feedback_moderator_cap: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Largest share of a site's labels one moderator carries, over all updates.",
    )
    learning_max_drop: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Refuse a site model whose reference-set ROC AUC drops (or ham filed as spam "
        "rises) more than this against the base model.",
    )
    learning_delay_seconds: int = Field(
        30, ge=0, le=86_400, description="Labels are learnt in batches this long after they come."
    )
    model_keep_versions: int = Field(
        20, ge=2, le=1000, description="Model versions kept in Redis (plus current and base)."
    )

    intake_max_per_second: int = Field(
        0,
        ge=0,
        description="Comment posts admitted per second across all clients; over it 503 (0: off).",
    )
    intake_max_wait_ms: int = Field(
        0,
        ge=0,
        description="A comment post that queued longer than this gets 503 (0: off).",
    )
    batch_size: int = Field(500, ge=1, le=10_000, description="Comments scored per worker batch.")
    claim_lease_seconds: int = Field(
        60, ge=1, description="A claimed batch not decided within this is claimed again."
    )
    reconcile_after_seconds: int = Field(
        30, ge=1, description="Pending comments older than this are re-queued."
    )

    @field_validator("captcha_operations", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return _split_commas(value)

    @field_validator("allowed_origins", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated_strings(cls, value: Any) -> Any:
        return _split_commas(value)

    @field_validator("webhooks", mode="before")
    @classmethod
    def _webhook_receivers(cls, value: Any) -> Any:
        return parse_webhooks(value) if isinstance(value, str) else value

    @field_validator("webhooks")
    @classmethod
    def _webhook_secrets(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        receivers: dict[str, SecretStr] = {}
        for i, (url, secret) in enumerate(value.items(), start=1):
            try:
                canonical = str(_HTTP_URL.validate_python(url))
            except ValidationError:
                raise ValueError(f"receiver {i} is not an http(s) URL") from None
            if canonical in receivers:
                raise ValueError(f"receiver {i} repeats the URL of an earlier one")
            webhook_key(secret.get_secret_value(), receiver=i)  # raises when malformed
            receivers[canonical] = secret
        return receivers

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value

    @field_validator(
        "rate_limit_captcha", "rate_limit_comments", "rate_limit_login", "rate_limit_site"
    )
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        try:
            parsed = parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit like '20/minute;500/day' ({exc})") from None
        if not parsed:
            raise ValueError("not a rate limit like '20/minute;500/day'")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if is_sentinel(value):
            parse_sentinel_url(value)
        elif not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss://, unix:// or redis+sentinel://")
        return value

    @model_validator(mode="after")
    def _secret_required_in_production(self) -> Settings:
        if self.env == "production" and self.secret_key is None:
            raise ValueError(
                "COMMENTGATE_SECRET_KEY is required in production (this folder has no "
                ".commentgate/ for development: run `commentgate dev` here first, or set "
                "COMMENTGATE_ENV=development)"
            )
        below, above = self.publish_below, self.spam_above
        if below is not None and above is not None and below > above:
            raise ValueError("COMMENTGATE_PUBLISH_BELOW must not exceed COMMENTGATE_SPAM_ABOVE")
        return self

    @cached_property
    def secret(self) -> str:
        """The secret key; in development without one, the development folder's key.

        That is the key in :data:`~service.core.development.DEV_SECRET_FILE`.

        Raises:
            ConfigurationError: The development key file cannot be read or created.
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return development_secret()

    @cached_property
    def trusted_proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """``trusted_proxies`` parsed into networks."""
        return [ipaddress.ip_network(item, strict=False) for item in self.trusted_proxies]


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings from the environment.

    Args:
        **overrides: Values that take precedence over the environment (tests, CLI flags).

    Returns:
        The validated settings.

    Raises:
        ConfigurationError: A variable is missing or invalid; the message names it.
    """
    for old, new in _REPLACED.items():
        if os.environ.get(old):
            raise ConfigurationError(
                f"invalid configuration: {old} was replaced by {new}; see docs/operations.md"
            )
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = error.get("loc") or ()
            name = f"{ENV_PREFIX}{str(loc[0]).upper()}" if loc else "settings"
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{name}: {message}" if loc else message)
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None
