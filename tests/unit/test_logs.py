from __future__ import annotations

import json
import logging

from server.logs import JsonFormatter, _request_id, configure_logging


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "fynlo.test", "levelname": "INFO", "msg": message})
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_line_is_json_with_the_request_id_and_extras() -> None:
    token = _request_id.set("req-123456")
    try:
        line = JsonFormatter().format(_record("paid", order="A-0042", amount=1250))
    finally:
        _request_id.reset(token)
    entry = json.loads(line)
    assert entry["message"] == "paid"
    assert entry["level"] == "INFO"
    assert entry["request_id"] == "req-123456"
    assert entry["order"] == "A-0042" and entry["amount"] == 1250


def test_outside_a_request_there_is_no_request_id() -> None:
    entry = json.loads(JsonFormatter().format(_record("tick")))
    assert "request_id" not in entry


def test_exceptions_are_kept_in_the_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = _record("failed")
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in entry["exception"]


def test_provider_http_clients_log_only_warnings() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging("DEBUG")
        for name in ("httpx", "httpcore", "stripe"):
            assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING
        assert logging.getLogger("fynlo.payments").getEffectiveLevel() == logging.DEBUG
    finally:
        root.handlers[:], root.level = handlers, level
