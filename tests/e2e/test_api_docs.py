"""The interactive API docs at /schema work on a LAN with no internet: nothing comes from a CDN.

The page and every file it names are served by the server itself. In-process requests check
the page and its assets; a real ``fynlo serve`` and headless Chromium check that the page
renders every operation while any request off 127.0.0.1 is blocked (and that none was tried).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from playwright.sync_api import Request, Route, sync_playwright

from server.openapi_export import openapi_document
from server.settings import Settings
from tests.e2e.processes import FYNLO, free_port, fynlo_env, stop, wait_for
from tests.optional import CHROMIUM

DOCS = "/schema"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
LOCAL_HOST = "127.0.0.1"
RENDER_SECONDS = 30
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
}


class Links(HTMLParser):
    """Every URL a page's tags point at (``src`` and ``href``)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def links(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.urls


def same_host(url: str) -> bool:
    """A path on the serving host: no scheme and no host of its own (``//cdn...`` has one)."""
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


def operations() -> list[tuple[str, str]]:
    return [
        (method, path)
        for path, item in openapi_document()["paths"].items()
        for method in item
        if method in METHODS
    ]


@pytest.mark.parametrize("page", [DOCS, f"{DOCS}/swagger"])
async def test_the_docs_page_names_only_files_of_this_server(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)  # no token: the docs are public, as the document is
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "SwaggerUIBundle(" in html
    urls = links(html)
    assert len(urls) >= 4, urls  # the stylesheet, the two scripts, the icon
    assert [url for url in urls if not same_host(url)] == []
    # Nor any address in the page's text or inline script (a CDN is named by its host).
    assert "://" not in html
    assert "//cdn" not in html


async def test_every_file_the_page_names_is_served(client: httpx.AsyncClient) -> None:
    html = (await client.get(DOCS)).text
    for url in links(html):
        response = await client.get(urljoin(f"http://{LOCAL_HOST}{DOCS}", url))
        assert response.status_code == 200, f"{url}: {response.status_code}"
        suffix = Path(urlsplit(url).path).suffix
        content_type = response.headers["content-type"].split(";")[0]
        assert content_type in CONTENT_TYPES[suffix], f"{url}: {content_type}"
        assert len(response.content) > 100, url


async def test_a_missing_asset_is_a_problem_not_a_page(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{DOCS}/assets/no-such-file.js")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_document_is_still_served_beside_the_page(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{DOCS}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.oai.openapi+json"
    assert response.json() == openapi_document()


@pytest.fixture(scope="module")
def docs_server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``fynlo serve`` on a free port (the page needs no database, the server wants one)."""
    port = free_port()
    env = fynlo_env(
        FYNLO_DATABASE_URL=settings.database_url or "",
        FYNLO_DATA_DIR=str(settings.data_dir),
        FYNLO_PORT=str(port),
    )
    log_path = tmp_path_factory.mktemp("docs") / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [FYNLO, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
    base_url = f"http://{LOCAL_HOST}:{port}"
    try:
        wait_for(f"{base_url}/health", process)
        yield base_url
    finally:
        stop(process)


@pytest.mark.browser
def test_swagger_ui_renders_every_operation_with_the_internet_blocked(
    docs_server: str, tmp_path: Path
) -> None:
    blocked: list[str] = []
    requested: list[str] = []
    errors: list[str] = []

    def only_this_host(route: Route, request: Request) -> None:
        if urlsplit(request.url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            blocked.append(request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.route("**/*", only_this_host)
            page.on("request", lambda request: requested.append(request.url))
            page.on("websocket", lambda socket: blocked.append(socket.url))
            page.on("pageerror", lambda error: errors.append(str(error)))
            response = page.goto(f"{docs_server}{DOCS}", wait_until="networkidle")
            assert response is not None and response.status == 200

            orders = page.locator('.opblock-summary-path[data-path="/api/v1/orders"]')
            screenshot = tmp_path / "api-docs.png"
            try:
                orders.first.wait_for(timeout=RENDER_SECONDS * 1000)
            finally:
                page.screenshot(path=str(screenshot))  # what a person sees, rendered or not
                print(f"screenshot: {screenshot}")
            rendered: Any = page.evaluate(
                """() => ({
                    title: document.querySelector('.information-container .title')?.innerText,
                    operations: document.querySelectorAll('.opblock').length,
                    failures: document.querySelectorAll('.errors-wrapper, .loading-container')
                        .length,
                })"""
            )
        finally:
            browser.close()

    assert blocked == [], "the page tried to reach another host"
    assert requested and all(urlsplit(url).hostname == LOCAL_HOST for url in requested)
    assert errors == []
    assert "Fynlo POS API" in (rendered["title"] or "")
    assert rendered["operations"] == len(operations())
    assert rendered["failures"] == 0
