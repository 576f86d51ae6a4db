"""One typed settings object, read once from ``FYNLO_*`` environment variables.

Every field is documented in ``docs/configuration.md``; a test keeps the two in step.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import msgspec

ENV_PREFIX = "FYNLO_"
REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Process-wide configuration. Field ``x`` is read from ``FYNLO_X``."""

    environment: Literal["development", "test", "production"] = "development"
    """Where this process runs; production refuses development-only conveniences."""

    database_url: str | None = None
    """PostgreSQL DSN. When unset, ``fynlo dev`` starts a private cluster under ``data_dir``."""

    data_dir: Path = REPO_ROOT / ".fynlo"
    """Folder for the private PostgreSQL cluster and generated signing keys (git-ignored)."""

    host: str = "127.0.0.1"
    """Interface the HTTP server binds to."""

    port: int = 8000
    """TCP port the HTTP server listens on."""

    public_url: str | None = None
    """Where customers' phones reach this server (the pay-by-bank page behind a QR code and
    the page the bank sends them back to), e.g. ``https://pay.example.com``; unset means
    ``http://{host}:{port}``, right only for development."""

    db_pool_min: int = 1
    """Smallest number of pooled database connections."""

    db_pool_max: int = 10
    """Largest number of pooled database connections."""

    db_connect_timeout_seconds: float = 5.0
    """Longest wait to open one database connection (TCP, TLS and PostgreSQL's start-up)."""

    db_acquire_timeout_seconds: float = 5.0
    """Longest wait for a pooled connection, connecting included; then 503
    ``dependency_unavailable``."""

    db_statement_timeout_seconds: float = 10.0
    """PostgreSQL's ``statement_timeout`` for the server's connections; the client gives up on
    a statement one second later, when the database cannot answer at all."""

    request_timeout_seconds: float = 20.0
    """Longest an HTTP request may run; then 503 ``deadline_exceeded`` (WebSockets excepted)."""

    max_body_bytes: int = 1_048_576
    """Largest request body accepted; larger bodies answer 413 ``payload_too_large``."""

    max_json_depth: int = 32
    """Deepest nesting of arrays and objects a JSON body may have (a sync push needs about
    six); deeper answers 400 ``nesting_too_deep`` before anything recursive decodes it."""

    max_header_bytes: int = 16_384
    """Largest request line plus headers; larger answers 431 ``headers_too_large``."""

    max_header_count: int = 100
    """Most header fields a request may carry; more answers 431 ``headers_too_large``."""

    header_timeout_seconds: float = 10.0
    """A connection must deliver a complete request head within this long of opening (or of
    its previous response), or it is closed (408 if part of a head had arrived): slowloris."""

    keep_alive_seconds: float = 5.0
    """An idle keep-alive connection is closed after this long without a new request."""

    shutdown_grace_seconds: int = 10
    """After SIGTERM the process exits within this long: sockets are closed with 1001, the
    requests in flight finish (or are cut when it runs out), then the pool is closed."""

    page_size_default: int = 50
    """Rows per page when a list request gives no ``limit``."""

    page_size_max: int = 200
    """Largest ``limit`` a list request may ask for; more is a 400."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Threshold for the JSON logs written to standard error."""

    jwt_issuer: str = "fynlo"
    """``iss`` claim written into and required from every token."""

    access_token_ttl_seconds: int = 900
    """Lifetime of a back-office access token (at most 15 minutes)."""

    refresh_token_ttl_seconds: int = 14 * 24 * 3600
    """Lifetime of a back-office refresh token; each use rotates it."""

    device_refresh_token_ttl_seconds: int = 90 * 24 * 3600
    """Lifetime of an iPad's refresh token; an iPad offline longer than this enrols again."""

    employee_session_ttl_seconds: int = 1800
    """How long an employee stays signed in on an iPad after a PIN (NIST AAL2 idle: 30 min)."""

    sync_max_offline_days: int = 30
    """Deletions are kept at least this long for iPads that are offline; one offline longer
    than this must pull again from scratch (its unsent changes are still accepted)."""

    signing_key_file: Path | None = None
    """JSON Web Key Set holding the private signing keys; generated under ``data_dir`` if unset."""

    redis_url: str | None = None
    """Redis URL for shared rate limits and real-time fan-out; in-process when unset."""

    redis_timeout_seconds: float = 2.0
    """Longest wait to connect to Redis or for one of its answers; then the call fails (a
    sign-in fails closed with 503, a real-time event is dropped) instead of hanging."""

    realtime_publish_queue: int = 1000
    """Real-time events that may wait to be published to Redis; beyond it the oldest are
    dropped and counted (pokes are hints: devices also pull on their own)."""

    realtime_auth_seconds: float = 5.0
    """A WebSocket must send its ``auth`` frame within this long, or it is closed (4401)."""

    realtime_heartbeat_seconds: float = 20.0
    """Seconds between the server's ``ping`` frames; a client silent for two is closed."""

    realtime_max_backlog: int = 256
    """Events a socket may have waiting; a client that falls further behind is closed (4429)."""

    workers: int = 1
    """Server processes ``fynlo serve`` runs on one listening socket (``--workers``); one
    process uses one CPU core, so up to one per core helps."""

    background_lease_seconds: float = 30.0
    """How long a process holds a background job (the payment sweep, tombstone GC) between
    renewals: a server that dies hands its jobs on to another after at most this long."""

    payment_fakes: bool = False
    """Start the fake Stripe and Open Banking sandbox in-process on 127.0.0.1 and point the
    providers at them (``fynlo dev`` turns this on unless real providers are configured)."""

    payment_qr_ttl_seconds: int = 900
    """How long a pay-by-bank QR code (and its payment) stays open: at most TrueLayer's own
    15 minutes, after which it expires a payment nobody authorised."""

    payment_poll_seconds: int = 30
    """How often the poller looks for payments past expiry and refunds left unsent."""

    idempotency_retention_days: int = 7
    """How long an ``Idempotency-Key`` and its response are kept (an iPad may retry late)."""

    provider_timeout_seconds: float = 10.0
    """Longest wait for one payment provider call before its outcome counts as unknown."""

    provider_failure_threshold: int = 5
    """Consecutive provider failures that open its circuit (then calls fail fast with 503)."""

    provider_circuit_reset_seconds: float = 30.0
    """How long an open circuit stays open before one trial call is let through."""

    fee_schedule_file: Path | None = None
    """JSON fee schedule (version + per-method rates); the product plan's defaults if unset."""

    stripe_api_key: str | None = None
    """Stripe secret key (``sk_...``); card and Apple Pay are off when unset."""

    stripe_webhook_secret: str | None = None
    """Signing secret of the Stripe webhook endpoint (``whsec_...``)."""

    stripe_api_base: str | None = None
    """Stripe API base URL; unset means Stripe itself."""

    open_banking_environment: Literal["sandbox", "live"] = "sandbox"
    """Which TrueLayer: its sandbox or live hosts are the defaults of the three bases below."""

    open_banking_api_base: str | None = None
    """Pay-by-bank provider API base URL (TrueLayer-v3-shaped); pay-by-bank is off when unset
    (and no fakes run)."""

    open_banking_auth_base: str | None = None
    """Where OAuth access tokens are issued; TrueLayer's auth host for the environment when
    unset (``auth.truelayer[-sandbox].com``), never the API host."""

    open_banking_payment_page_base: str | None = None
    """TrueLayer's hosted payment page host; its documented one for the environment when
    unset (``payment.truelayer[-sandbox].com``)."""

    open_banking_webhook_path: str = "/api/v1/payments/webhooks/open-banking"
    """The path TrueLayer posts webhooks to, as TrueLayer sees it (its signature covers it):
    set it when a proxy in front of the server adds a prefix."""

    open_banking_client_id: str | None = None
    """OAuth client id for the pay-by-bank provider."""

    open_banking_client_secret: str | None = None
    """OAuth client secret for the pay-by-bank provider (a secret: never logged)."""

    open_banking_jwks_url: str | None = None
    """The only URL the provider's webhook signing keys are fetched from."""

    open_banking_signing_kid: str | None = None
    """Key id of our request-signing key registered with the provider."""

    open_banking_signing_key_file: Path | None = None
    """PEM file of our private request-signing key (EC P-521)."""

    open_banking_merchant_accounts: str = ""
    """The platform's merchant accounts, one per currency: ``GBP:ma-id,EUR:ma-id``. A
    restaurant with its own account for a currency is paid into that instead."""

    apple_pay_merchant_id: str = "merchant.app.fynlo"
    """Apple Pay merchant identifier sent when validating a web Apple Pay session."""

    apple_pay_validation_urls: str = (
        "https://apple-pay-gateway.apple.com/paymentservices/paymentSession,"
        "https://apple-pay-gateway-cert.apple.com/paymentservices/paymentSession"
    )
    """Comma-separated validation URLs we will call; anything else is refused (no SSRF)."""

    apple_pay_certificate_file: Path | None = None
    """PEM merchant identity certificate and key for Apple's mutual-TLS validation call."""

    @property
    def base_url(self) -> str:
        """``public_url``, or this process's own address."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def key_file(self) -> Path:
        """Where the token signing keys live."""
        return self.signing_key_file or self.data_dir / "keys" / "signing.jwks.json"

    def __post_init__(self) -> None:
        if self.access_token_ttl_seconds > 900 or self.access_token_ttl_seconds < 1:
            raise ValueError("FYNLO_ACCESS_TOKEN_TTL_SECONDS must be between 1 and 900")
        if self.page_size_default > self.page_size_max:
            raise ValueError("FYNLO_PAGE_SIZE_DEFAULT must not exceed FYNLO_PAGE_SIZE_MAX")
        if self.payment_fakes and self.environment == "production":
            raise ValueError("FYNLO_PAYMENT_FAKES is for development; configure real providers")
        if not 60 <= self.payment_qr_ttl_seconds <= 900:
            raise ValueError(
                "FYNLO_PAYMENT_QR_TTL_SECONDS must be between 60 and 900 (TrueLayer expires"
                " payments nobody authorised after 15 minutes)"
            )
        merchant_accounts(self.open_banking_merchant_accounts)  # refuses a malformed list
        if not self.open_banking_webhook_path.startswith("/"):
            raise ValueError("FYNLO_OPEN_BANKING_WEBHOOK_PATH must start with /")
        if self.idempotency_retention_days < 1:
            raise ValueError("FYNLO_IDEMPOTENCY_RETENTION_DAYS must be at least 1")
        if self.workers < 1:
            raise ValueError("FYNLO_WORKERS must be at least 1")
        if self.background_lease_seconds <= 0:
            raise ValueError("FYNLO_BACKGROUND_LEASE_SECONDS must be more than 0")
        if self.redis_timeout_seconds <= 0:
            raise ValueError("FYNLO_REDIS_TIMEOUT_SECONDS must be more than 0")
        if self.realtime_publish_queue < 1:
            raise ValueError("FYNLO_REALTIME_PUBLISH_QUEUE must be at least 1")
        if self.db_pool_min > self.db_pool_max:
            raise ValueError("FYNLO_DB_POOL_MIN must not exceed FYNLO_DB_POOL_MAX")
        for name in _POSITIVE:
            if getattr(self, name) <= 0:
                raise ValueError(f"FYNLO_{name.upper()} must be more than 0")
        if self.request_timeout_seconds >= IDEMPOTENCY_LEASE_SECONDS:
            raise ValueError(
                f"FYNLO_REQUEST_TIMEOUT_SECONDS must be under {IDEMPOTENCY_LEASE_SECONDS}: a"
                " payment's Idempotency-Key is leased that long, so a retry never runs beside"
                " the request it retries"
            )


# Limits and timeouts: zero or less would refuse everything or never wait.
IDEMPOTENCY_LEASE_SECONDS = 30
"""How long a request may work on an ``Idempotency-Key`` before another may take it over
(server/payments/idempotency.py); every request ends before that (the request deadline)."""

_POSITIVE = (
    "max_json_depth",
    "max_header_bytes",
    "max_header_count",
    "header_timeout_seconds",
    "keep_alive_seconds",
    "shutdown_grace_seconds",
    "db_connect_timeout_seconds",
    "db_acquire_timeout_seconds",
    "db_statement_timeout_seconds",
    "request_timeout_seconds",
)


def merchant_accounts(setting: str) -> dict[str, str]:
    """``"GBP:ma-1, EUR:ma-2"`` → ``{"GBP": "ma-1", "EUR": "ma-2"}``."""
    accounts: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in setting.split(","))):
        currency, _, account = item.partition(":")
        currency, account = currency.strip(), account.strip()
        if len(currency) != 3 or not currency.isalpha() or not currency.isupper() or not account:
            raise ValueError(
                f"FYNLO_OPEN_BANKING_MERCHANT_ACCOUNTS: {item!r} is not CURRENCY:account-id"
            )
        if currency in accounts:
            raise ValueError(f"FYNLO_OPEN_BANKING_MERCHANT_ACCOUNTS: {currency} twice")
        accounts[currency] = account
    return accounts


def settings_from_env(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from ``FYNLO_*`` variables; unknown ``FYNLO_*`` names are an error."""
    environ = dict(os.environ if environ is None else environ)
    fields = set(Settings.__struct_fields__)
    values: dict[str, str] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in _NOT_SETTINGS:
            continue
        field = name.removeprefix(ENV_PREFIX).lower()
        if field not in fields:
            raise ValueError(f"unknown setting {name}; see docs/configuration.md")
        values[field] = value
    try:
        return msgspec.convert(values, Settings, strict=False, dec_hook=_decode_path)
    except msgspec.ValidationError as exc:
        raise ValueError(f"invalid FYNLO_* setting: {exc}") from exc


def _decode_path(kind: type, value: object) -> object:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(f"cannot read a setting of type {kind}")


# Variables with the prefix that configure tools rather than the server.
_NOT_SETTINGS = frozenset({"FYNLO_PG_BINDIR", "FYNLO_BENCH_RESULTS", "FYNLO_BENCH_TEMPLATE"})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read on first use."""
    return settings_from_env()
