"""The floor for reads: a bare Litestar app with one JSON handler, served by uvicorn with the
settings ``fynlo serve`` uses (``server/cli/dev.py``), on the port given as the argument::

    python -m load.bare_app 8123

No middleware, no guards, no database: what Litestar and uvicorn cost per request here.
"""

from __future__ import annotations

import sys

import uvicorn
from litestar import Litestar, get

# A list-endpoint's shape: a page of a few small items.
_PAGE = {
    "items": [{"id": f"00000000-0000-0000-0000-{n:012d}", "name": f"Item {n}"} for n in range(10)],
    "next_cursor": None,
}


@get("/")
async def page() -> dict[str, object]:
    return _PAGE


app = Litestar(route_handlers=[page], logging_config=None, debug=False)


def main() -> None:
    port = int(sys.argv[1])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        ws_per_message_deflate=False,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
