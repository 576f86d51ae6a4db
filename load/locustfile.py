"""A back-office user reading the restaurant: orders, menu and floor, at a set average pace.

Run by ``make bench`` (``load/bench.py``) against a server holding the demo restaurant; it can
also be pointed at any such server by hand::

    locust -f load/locustfile.py --headless -u 20 -r 10 -t 20s --host http://127.0.0.1:8000

Every user shares one sign-in as the demo owner (see ``SharedSignIn``). Requests are named by
route template (``/api/v1/orders/{id}``) so each endpoint gets one row, and any answer outside
2xx counts as a failure, redirects included.
"""

from __future__ import annotations

import os
import random
from typing import Any

from gevent.lock import Semaphore
from locust import poisson, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

from server.auth.tables import Role
from server.demo import CREDENTIALS

# Requests (one per task) a user starts per second, on average. The pause after each answer
# is drawn from an exponential distribution, so users' requests arrive as a Poisson process,
# as real users' do; a fixed pace would lock users spawned 0.1 s apart into step and send
# them in bursts. Still a closed loop: a user waiting on a slow answer sends nothing
# meanwhile, so stalls are under-sampled (coordinated omission) and tails are a lower bound.
USER_TASKS_PER_SECOND = float(os.environ.get("BENCH_USER_RPS", "5"))
ORDER_PAGE = 50

OWNER = next(login for login in CREDENTIALS.logins if login.role is Role.owner)


class SharedSignIn:
    """The owner's sign-in, made once and shared by every user in this locust process.

    The server allows 10 sign-ins per account per 15 minutes (``server/auth/ratelimit.py``),
    and a real back office is a few managers, not twenty sign-ins to one account: so the
    users act as tabs of one browser session. The access token lasts 15 minutes, which
    bounds a run's length (``load/bench.py`` refuses longer ones).
    """

    def __init__(self) -> None:
        self._lock = Semaphore()
        self._tried = False
        self.headers: dict[str, str] | None = None

    def headers_for(self, client: Any) -> dict[str, str] | None:
        """The Authorization header, signing in on first use; None if sign-in failed."""
        with self._lock:  # the others wait for the first user's answer instead of retrying
            if not self._tried:
                self._tried = True
                self.headers = _sign_in(client)
        return self.headers


SIGN_IN = SharedSignIn()


class BackOfficeUser(FastHttpUser):
    """A manager's browser tab: shares the one sign-in, then mostly reads orders."""

    wait_time = poisson(USER_TASKS_PER_SECOND)

    def on_start(self) -> None:
        self.order_ids: list[str] = []
        headers = SIGN_IN.headers_for(self.client)
        if headers is None:
            raise StopUser  # without a sign-in there is nothing to measure
        self.headers = headers
        self.list_orders()  # the back office opens on the order list

    @task(4)
    def list_orders(self) -> None:
        with self._get(f"/api/v1/orders?limit={ORDER_PAGE}", "/api/v1/orders") as response:
            page = _json_or_fail(response)
            if isinstance(page, dict) and isinstance(page.get("items"), list):
                self.order_ids = [item["id"] for item in page["items"]]

    @task(3)
    def read_order(self) -> None:
        if not self.order_ids:  # nothing listed yet: list first, as the browser would
            self.list_orders()
            return
        order_id = random.choice(self.order_ids)
        with self._get(f"/api/v1/orders/{order_id}", "/api/v1/orders/{id}") as response:
            _json_or_fail(response)

    @task(2)
    def list_products(self) -> None:
        with self._get("/api/v1/products", "/api/v1/products") as response:
            _json_or_fail(response)

    @task(1)
    def list_tables(self) -> None:
        with self._get("/api/v1/tables", "/api/v1/tables") as response:
            _json_or_fail(response)

    @task(1)
    def health(self) -> None:
        with self.client.get(
            "/health", name="/health", catch_response=True, allow_redirects=False
        ) as response:
            _json_or_fail(response)

    def _get(self, url: str, name: str) -> Any:
        return self.client.get(
            url, name=name, headers=self.headers, catch_response=True, allow_redirects=False
        )


def _sign_in(client: Any) -> dict[str, str] | None:
    with client.post(
        "/api/v1/auth/login",
        json={"email": OWNER.email, "password": OWNER.password},
        name="/api/v1/auth/login",
        catch_response=True,
        allow_redirects=False,
    ) as response:
        body = _json_or_fail(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if body is not None and not token:
            response.failure("no access_token in the answer")
    return {"Authorization": f"Bearer {token}"} if token else None


def _json_or_fail(response: Any) -> Any:
    """The decoded body of a 2xx answer; anything else is marked failed and gives None."""
    if not 200 <= response.status_code < 300:
        error = getattr(response, "error", None)  # status 0: no answer at all
        response.failure(f"HTTP {response.status_code}" if response.status_code else repr(error))
        return None
    try:
        return response.json()
    except ValueError:
        response.failure("the answer is not JSON")
        return None
