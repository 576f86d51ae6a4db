"""Fakes of the payment providers, served on 127.0.0.1, and how tests talk to them."""

from __future__ import annotations

import httpx

PATIENT_SECONDS = 10.0


def losing_answers_after(read_seconds: float) -> httpx.Timeout:
    """A client that gives up waiting for an answer after ``read_seconds``, and nothing else.

    Tests lose a provider's answer by holding it longer than this. Only the wait for the
    answer is short: connecting, sending and waiting for a pooled connection keep a patient
    limit, so a busy CI machine slow to accept a connection is not mistaken for a lost answer.
    """
    return httpx.Timeout(PATIENT_SECONDS, read=read_seconds)
