"""The floor for real-time: a bare Litestar app holding WebSockets, served by uvicorn with
the settings ``fynlo serve`` uses (``server/cli/dev.py``), on the port given::

    python -m load.bare_realtime 8124

No authentication, channels, middleware or database; what Litestar and uvicorn cost per
socket here:

- ``/ws``: the client's first frame (any) is answered with ``{"type":"welcome"}``, as
  Fynlo's ``auth`` is; then the socket is only read until the client leaves;
- ``GET /health``: answers, once the server is up;
- ``POST /poke``: one frame, ``{"type":"sync.poke","sent_at":<Unix seconds>}``, encoded once
  and sent to every socket in turn with ``send_text``, then the answer (204). ``sent_at`` is
  taken just before the first send, so a client on this machine can time the send itself.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import msgspec
import uvicorn
from litestar import Litestar, WebSocket, get, post, websocket
from litestar.exceptions import WebSocketDisconnect

_sockets: set[WebSocket[Any, Any, Any]] = set()
_WELCOME = '{"type":"welcome"}'


@websocket("/ws")
async def held(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.accept()
    try:
        await socket.receive_text()
        await socket.send_text(_WELCOME)
        _sockets.add(socket)
        while True:
            await socket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        _sockets.discard(socket)


@post("/poke", status_code=204)
async def poke() -> None:
    frame = msgspec.json.encode({"type": "sync.poke", "sent_at": time.time()}).decode()
    for socket in list(_sockets):
        try:
            await socket.send_text(frame)
        except (WebSocketDisconnect, RuntimeError, OSError):
            _sockets.discard(socket)


@get("/health")
async def health() -> str:
    return "ok"


app = Litestar(route_handlers=[held, poke, health], logging_config=None, debug=False)


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
