#!/usr/bin/env python3
"""A generic WebSocket echo server on the `websockets` library (real third-party software), for the
capture lab: the library's own canonical example, which knows no subprotocol. It accepts any
Upgrade and answers 101 without Sec-WebSocket-Protocol (the client's offer of "mqtt" is ignored,
as RFC 6455 §4.2.2 allows), then sends every message back. Bounded: exits after SECONDS.

Usage: ws_echo_server.py HOST PORT SECONDS
"""
import asyncio
import sys

import websockets
from websockets.asyncio.server import serve


async def echo(ws) -> None:
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main(host: str, port: int, seconds: float) -> None:
    async with serve(echo, host, port):
        print(f"listening on {host}:{port} (websockets {websockets.__version__})", flush=True)
        await asyncio.sleep(seconds)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
