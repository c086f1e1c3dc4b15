"""A TCP forwarder on 127.0.0.1 that holds every chunk for a fixed one-way delay: a database on another
host, for bench/chaos.py --db-latency-ms (this machine's kernel has no netem).

Each direction of a connection has a reader thread that stamps each chunk with its due time and a
writer that sends it then (time.sleep, sub-millisecond; asyncio's timers round to whole
milliseconds), so order is kept and a round trip costs twice the delay. Not a network model: no
bandwidth limit, no jitter, no loss.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time

Chunk = tuple[float, bytes]  # (due on time.monotonic's clock, bytes); b"" ends the direction


class LatencyProxy:
    def __init__(self, target_port: int, one_way_ms: float) -> None:
        self.target = ("127.0.0.1", target_port)
        self.delay = one_way_ms / 1000
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name="latency-proxy").start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return  # closed
            for end in (client, upstream):
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._direction(client, upstream)
            self._direction(upstream, client)

    def close(self) -> None:
        self.server.close()

    def _direction(self, source: socket.socket, target: socket.socket) -> None:
        chunks: queue.Queue[Chunk] = queue.Queue()

        def read() -> None:
            try:
                while data := source.recv(65536):
                    chunks.put((time.monotonic() + self.delay, data))
            except OSError:
                pass
            chunks.put((0.0, b""))

        def write() -> None:
            try:
                while (chunk := chunks.get())[1]:
                    due, data = chunk
                    if (wait := due - time.monotonic()) > 0:
                        time.sleep(wait)
                    target.sendall(data)
            except OSError:
                pass
            for end in (target, source):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()
