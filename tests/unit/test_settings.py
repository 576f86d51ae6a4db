from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.payments.providers.open_banking import truelayer_hosts
from server.settings import Settings, merchant_accounts, settings_from_env

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"`FYNLO_([A-Z_]+)`", DOCS.read_text()))
    fields = {name.upper() for name in Settings.__struct_fields__}
    assert fields - documented == set(), "add the missing settings to docs/configuration.md"


def test_values_are_typed_from_strings() -> None:
    settings = settings_from_env(
        {"FYNLO_PORT": "9001", "FYNLO_DATA_DIR": "/srv/fynlo", "FYNLO_ENVIRONMENT": "test"}
    )
    assert settings.port == 9001
    assert settings.data_dir == Path("/srv/fynlo")
    assert settings.environment == "test"


def test_unrelated_variables_are_ignored() -> None:
    assert settings_from_env({"HOME": "/root", "FYNLO_PG_BINDIR": "/x"}).port == 8000


def test_the_benchmarks_results_file_is_not_a_setting() -> None:
    # ``make bench`` sets it for every benchmark, and they read settings in process.
    assert settings_from_env({"FYNLO_BENCH_RESULTS": "bench-results/r.jsonl"}).port == 8000


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FYNLO_PORT", "eighty", "port"),
        ("FYNLO_ENVIRONMENT", "staging", "environment"),
        ("FYNLO_PORTT", "80", "unknown setting FYNLO_PORTT"),
        ("FYNLO_ACCESS_TOKEN_TTL_SECONDS", "3600", "between 1 and 900"),
        ("FYNLO_PAGE_SIZE_DEFAULT", "500", "must not exceed"),
        # TrueLayer expires a payment nobody authorised after 15 minutes: a QR cannot outlive it.
        ("FYNLO_PAYMENT_QR_TTL_SECONDS", "901", "between 60 and 900"),
        ("FYNLO_OPEN_BANKING_MERCHANT_ACCOUNTS", "GBP", "is not CURRENCY:account-id"),
        ("FYNLO_OPEN_BANKING_MERCHANT_ACCOUNTS", "gbp:ma-1", "is not CURRENCY:account-id"),
        ("FYNLO_OPEN_BANKING_MERCHANT_ACCOUNTS", "GBP:a,GBP:b", "GBP twice"),
        ("FYNLO_OPEN_BANKING_WEBHOOK_PATH", "hooks", "must start with /"),
        ("FYNLO_OPEN_BANKING_ENVIRONMENT", "prod", "open_banking_environment"),
        # A limit of 0 would refuse every request; a timeout of 0 would wait for none.
        ("FYNLO_MAX_HEADER_COUNT", "0", "FYNLO_MAX_HEADER_COUNT must be more than 0"),
        ("FYNLO_HEADER_TIMEOUT_SECONDS", "-1", "FYNLO_HEADER_TIMEOUT_SECONDS must be more"),
        ("FYNLO_SHUTDOWN_GRACE_SECONDS", "0", "FYNLO_SHUTDOWN_GRACE_SECONDS must be more"),
        # A deadline of zero (or less) would refuse every request and every connection.
        ("FYNLO_REQUEST_TIMEOUT_SECONDS", "0", "FYNLO_REQUEST_TIMEOUT_SECONDS must be more"),
        ("FYNLO_DB_STATEMENT_TIMEOUT_SECONDS", "-1", "FYNLO_DB_STATEMENT_TIMEOUT_SECONDS"),
        # A request outliving its payment key's lease could run beside its own retry.
        ("FYNLO_REQUEST_TIMEOUT_SECONDS", "30", "FYNLO_REQUEST_TIMEOUT_SECONDS must be under 30"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings_from_env({variable: value})


def test_merchant_accounts_are_one_per_currency() -> None:
    setting = " GBP:ma-gbp , EUR:ma-eur,"
    assert merchant_accounts(setting) == {"GBP": "ma-gbp", "EUR": "ma-eur"}
    assert merchant_accounts("") == {}


def test_the_public_url_defaults_to_this_process() -> None:
    assert settings_from_env({"FYNLO_PORT": "8123"}).base_url == "http://127.0.0.1:8123"
    public = settings_from_env({"FYNLO_PUBLIC_URL": "https://pay.example.com/"})
    assert public.base_url == "https://pay.example.com"


def test_truelayer_hosts_are_never_the_api_host() -> None:
    for environment in ("sandbox", "live"):
        api, auth, page = truelayer_hosts(environment)  # type: ignore[arg-type]
        assert len({api, auth, page}) == 3
    assert truelayer_hosts("live")[1:] == (
        "https://auth.truelayer.com",
        "https://payment.truelayer.com",
    )
