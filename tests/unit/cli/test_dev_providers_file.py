"""How ``fynlo`` commands find the fakes ``make run`` started: the file beside its database,
believed only while the process that wrote it runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec

from server.payments.fakes.dev import STATE_FILE, DevProviders, read_state
from server.settings import Settings


def state(pid: int) -> DevProviders:
    return DevProviders(
        pid=pid,
        stripe_url="http://127.0.0.1:1",
        stripe_webhook_secret="whsec_x",
        bank_url="http://127.0.0.1:2",
        bank_client_secret="secret",
        bank_private_key_pem="-----BEGIN PRIVATE KEY-----",
    )


def test_the_file_of_a_running_server_is_read(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_bytes(msgspec.json.encode(state(os.getpid())))
    assert read_state(Settings(data_dir=tmp_path)) == state(os.getpid())


def test_the_file_of_a_server_that_died_is_ignored(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    (tmp_path / STATE_FILE).write_bytes(msgspec.json.encode(state(int(gone.stdout))))
    assert read_state(Settings(data_dir=tmp_path)) is None


def test_no_file_or_a_torn_one_is_no_providers(tmp_path: Path) -> None:
    assert read_state(Settings(data_dir=tmp_path)) is None
    (tmp_path / STATE_FILE).write_text('{"pid": 1, "stripe_url"')
    assert read_state(Settings(data_dir=tmp_path)) is None
