from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.settings import Settings, settings_from_env

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


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FYNLO_PORT", "eighty", "port"),
        ("FYNLO_ENVIRONMENT", "staging", "environment"),
        ("FYNLO_PORTT", "80", "unknown setting FYNLO_PORTT"),
        ("FYNLO_ACCESS_TOKEN_TTL_SECONDS", "3600", "between 1 and 900"),
        ("FYNLO_PAGE_SIZE_DEFAULT", "500", "must not exceed"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings_from_env({variable: value})
