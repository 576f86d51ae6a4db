"""``fynlo dev`` (what ``make run`` calls) and ``fynlo serve``.

``dev`` starts the private PostgreSQL cluster unless ``FYNLO_DATABASE_URL`` is set, migrates,
loads the demo data once, and serves; Ctrl-C or SIGTERM stops the server, then the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
import sys
from types import FrameType

import click
import uvicorn

from server.cli.db import without_password
from server.cli.demo import describe
from server.cli.workers import supervise
from server.db import engine
from server.db.cluster import PostgresCluster, PostgresNotInstalled
from server.db.migrate import migrate
from server.demo import DemoCredentials, fresh_credentials, load_demo
from server.edge import AnswerCutRequests, edge_protocol
from server.settings import get_settings


class Stopped(Exception):
    """SIGTERM arrived: before the server was up, or re-raised by uvicorn after it stopped."""


@click.command(name="dev", short_help="Private database + demo data + server (make run).")
def run_dev() -> int:
    """What `make run` runs: a private PostgreSQL under FYNLO_DATA_DIR (unless
    FYNLO_DATABASE_URL is set), migrations, the demo data once, the fake payment providers
    (unless real ones are configured), and the server on FYNLO_HOST:FYNLO_PORT. Ctrl-C stops
    the server, then the database. Refused in production."""
    settings = get_settings()
    if settings.environment == "production":
        print("fynlo dev loads demo data and is refused in production; use `fynlo serve`.")
        return 2
    cluster: PostgresCluster | None = None

    signal.signal(signal.SIGTERM, _stop)
    try:
        if settings.database_url is None:
            cluster = PostgresCluster(settings.data_dir / "postgres")
            print(f"Starting PostgreSQL in {cluster.data_dir} ...", flush=True)
            try:
                os.environ["FYNLO_DATABASE_URL"] = cluster.start()
            except RuntimeError as exc:  # a folder PostgreSQL cannot use, or a cluster in use
                print(f"error: {exc}", file=sys.stderr)
                return 2
            get_settings.cache_clear()
        _use_fake_providers_unless_configured()
        credentials = asyncio.run(_prepare())
        _banner(credentials, cluster)
        # uvicorn installs its own SIGINT/SIGTERM handlers and returns after a graceful stop.
        _serve()
        return 0
    except PostgresNotInstalled as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (Stopped, KeyboardInterrupt):
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if cluster is not None:
            print("Stopping PostgreSQL ...", flush=True)
            cluster.stop()


def _use_fake_providers_unless_configured() -> None:
    """`make run` takes payments end to end against the fakes, unless real ones are set."""
    settings = get_settings()
    if settings.stripe_api_key or settings.open_banking_api_base:
        return
    os.environ.setdefault("FYNLO_PAYMENT_FAKES", "true")
    get_settings.cache_clear()


@click.command(name="serve", short_help="Serve against FYNLO_DATABASE_URL.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Server processes on one socket (default FYNLO_WORKERS, 1).",
)
def run_serve(workers: int | None) -> int:
    """Serve against FYNLO_DATABASE_URL (production and tests): no private database, no
    demo data, no migrations (run `fynlo db migrate` first)."""
    settings = get_settings()
    if not settings.database_url:
        print("error: FYNLO_DATABASE_URL is not set", file=sys.stderr)
        return 2
    count = workers or settings.workers
    if count > 1:
        return supervise(
            count,
            _serve,
            host=settings.host,
            port=settings.port,
            grace=settings.shutdown_grace_seconds,
        )
    signal.signal(signal.SIGTERM, _stop)
    with contextlib.suppress(Stopped, KeyboardInterrupt):
        _serve()
    return 0


def _stop(signum: int, frame: FrameType | None) -> None:
    # uvicorn re-raises the signal once it has shut down gracefully; end with status 0.
    raise Stopped


async def _prepare() -> DemoCredentials:
    url = get_settings().database_url
    assert url is not None
    engine.configure(url)
    await engine.open_pool(min_size=1, max_size=2)
    try:
        await migrate()
        if await load_demo():
            print("Loaded demo data.", flush=True)
        return await fresh_credentials()
    finally:
        await engine.close_pool()


def _serve(sockets: list[socket.socket] | None = None) -> None:
    from server.app import create_app

    settings = get_settings()
    app = create_app(settings)
    # The app's routes, schemas and modules live as long as the process: moved out of the
    # collector's reach, a full collection walks only what requests made, not all of it
    # (a full collection over the whole heap stalled reads for tens of ms; docs/performance.md).
    gc.collect()
    gc.freeze()
    config = uvicorn.Config(
        AnswerCutRequests(app),  # a request cut when the shutdown grace runs out: 503
        host=settings.host,
        port=settings.port,
        log_config=None,
        # Limits at the edge: head size and count, slow heads (server/edge.py).
        http=edge_protocol(settings),
        timeout_keep_alive=settings.keep_alive_seconds,  # type: ignore[arg-type]  # a float is fine: call_later
        # ClosingServer.shutdown gives the requests in flight what is left of the grace.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        server_header=False,
        # Real-time frames are ~100-byte pokes: compressing them costs more memory per
        # socket (about 42 KiB) and CPU per send than it saves (load/realtime_bench.py).
        ws_per_message_deflate=False,
    )
    ClosingServer(config).run(sockets=sockets)  # sockets: a worker's (server/cli/workers.py)


class ClosingServer(uvicorn.Server):
    """uvicorn, but WebSockets hear 1001 ("going away") first when the server shuts down;
    uvicorn alone would cut them with 1012. In-flight HTTP requests still finish.

    The whole shutdown fits in ``timeout_graceful_shutdown`` (FYNLO_SHUTDOWN_GRACE_SECONDS):
    new connections are refused at once, sockets get a quarter of it to close, requests in
    flight what is left less a fifth, and that fifth is the lifespan's (pool, poller, bus).
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        loop = asyncio.get_running_loop()
        grace = float(self.config.timeout_graceful_shutdown or 0)
        deadline = loop.time() + grace
        for server in self.servers:
            server.close()  # uvicorn closes listeners only after the sockets below: refuse now
        app = self.config.app
        hub = getattr(getattr(app, "state", None), "realtime_hub", None)
        if hub is not None:
            await hub.close_all(grace=grace / 4)
        # uvicorn reads this when it starts waiting for the requests in flight.
        left = max(0.0, deadline - loop.time() - grace / 5)
        self.config.timeout_graceful_shutdown = left  # type: ignore[assignment]  # asyncio.timeout takes floats
        await super().shutdown(sockets)


def _banner(credentials: DemoCredentials, cluster: PostgresCluster | None) -> None:
    settings = get_settings()
    base = f"http://{settings.host}:{settings.port}"
    if cluster is not None:
        database = (
            f"  database PostgreSQL in {cluster.data_dir}, at {cluster.dsn}\n"
            "           `.venv/bin/fynlo` commands in this checkout find it while this runs\n"
        )
    else:
        database = (
            f"  database {without_password(settings.database_url or '')} (FYNLO_DATABASE_URL)\n"
        )
    print(
        f"\nFynlo POS is starting on {base}\n"
        f"  back office {base}/office/  (sign in with the owner or manager below)\n"
        f"  API docs {base}/schema  (interactive; the document: {base}/schema/openapi.json)\n"
        f"  health   {base}/health\n"
        f"  ready    {base}/ready\n"
        f"  metrics  {base}/metrics\n"
        f"{database}"
        "  a fresh unpaid order to pay: .venv/bin/fynlo demo --order\n\n"
        f"{describe(credentials)}\n"
        '  sign in: POST /api/v1/auth/login with {"email": ..., "password": ...}\n\n'
        "Ctrl-C stops the server and the database.\n",
        flush=True,
    )


COMMANDS = (run_dev, run_serve)
