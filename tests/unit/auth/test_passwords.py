"""Password and PIN hashes: production parameters, upgrades of older hashes, the bounded pool."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import pytest
from argon2 import PasswordHasher, Type, extract_parameters

from server.auth import passwords
from server.auth.passwords import (
    HASHING,
    NICENESS,
    PARAMETERS,
    hash_password,
    run_bounded,
    verify_password,
)

# argon2-cffi's defaults, which hashes were made with before OWASP's minimum was chosen.
OLDER = PasswordHasher(time_cost=3, memory_cost=65_536, parallelism=4)


async def test_new_hashes_are_argon2id_at_owasp_minimum() -> None:
    stored = await hash_password("correct horse battery")
    assert extract_parameters(stored) == PARAMETERS
    assert PARAMETERS.type is Type.ID
    assert PARAMETERS.memory_cost >= 19 * 1024
    assert PARAMETERS.time_cost >= 2 and PARAMETERS.parallelism == 1


async def test_a_current_hash_verifies_without_an_upgrade() -> None:
    stored = await hash_password("2580")
    checked = await verify_password(stored, "2580")
    assert checked.matches and checked.upgraded is None


async def test_wrong_secret_missing_or_broken_hash_do_not_match() -> None:
    stored = await hash_password("2580")
    assert not (await verify_password(stored, "2581")).matches
    assert not (await verify_password(None, "not a real password")).matches
    assert not (await verify_password("not a hash", "2580")).matches


async def test_an_older_hash_verifies_and_comes_back_upgraded() -> None:
    older = OLDER.hash("correct horse battery")
    checked = await verify_password(older, "correct horse battery")
    assert checked.matches and checked.upgraded is not None
    assert extract_parameters(checked.upgraded) == PARAMETERS
    assert (await verify_password(checked.upgraded, "correct horse battery")).matches


async def test_an_older_hash_with_the_wrong_secret_is_not_upgraded() -> None:
    checked = await verify_password(OLDER.hash("correct horse battery"), "wrong horse")
    assert not checked.matches and checked.upgraded is None


async def test_hashing_runs_in_a_worker_thread() -> None:
    worker = await run_bounded(threading.get_ident)
    assert worker != threading.get_ident()


async def test_a_burst_never_runs_more_hashes_at_once_than_there_are_slots() -> None:
    running, most = 0, 0
    lock = threading.Lock()
    release = threading.Event()

    def work() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(timeout=5)
        with lock:
            running -= 1

    burst = [asyncio.ensure_future(run_bounded(work)) for _ in range(4 * int(HASHING.total_tokens))]
    for _ in range(500):  # until every slot is taken and the rest queue (at most 5 s)
        if HASHING.borrowed_tokens == HASHING.total_tokens:
            break
        await asyncio.sleep(0.01)
    assert HASHING.borrowed_tokens == HASHING.total_tokens
    release.set()
    await asyncio.gather(*burst)
    assert most == HASHING.total_tokens


def test_the_pool_is_sized_to_the_cores() -> None:
    assert passwords.HASHING.total_tokens == len(os.sched_getaffinity(0))


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread niceness is Linux's")
async def test_hashing_threads_yield_to_the_event_loop() -> None:
    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    assert await run_bounded(niceness) == NICENESS
    assert niceness() < NICENESS  # the loop's own thread keeps its priority
