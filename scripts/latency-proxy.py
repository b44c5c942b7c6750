#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that adds a fixed delay each way.

`scripts/bench --pop3` puts it between mailtug (or mpop) and Dovecot to see
whether a client keeps the link busy when every answer comes a round trip
later, as on a real network. Every chunk read from one side is written to
the other side DELAY milliseconds after it arrived. Reading goes on while
earlier chunks wait, so the delay adds latency, not a throughput limit: a
direction is a queue of (due time, bytes) that one timer empties in order,
not one sleep per chunk that would stop the stream. Bytes are forwarded as
they are, so TLS passes through untouched.

Usage:
  latency-proxy.py --target HOST:PORT [--delay-ms MS] [--port-file FILE]

It listens on a free port of 127.0.0.1 and prints that port as one line on
stdout (and writes it to FILE, when given, once it accepts connections),
then runs until it gets SIGTERM or SIGINT.

Standard library only, Python 3.9 or newer. It uses asyncio's protocols,
not its streams, to spend as little CPU as it can on each chunk.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import signal
import sys

# Bytes a direction holds at most before it stops reading its source, so a
# source faster than the destination meets TCP backpressure instead of
# filling memory. A delay's worth of a fast stream is far below this.
HIGH_WATER = 32 * 1024 * 1024


class Side(asyncio.Protocol):
    """One socket of a proxied connection, the client's or the server's,
    and the bytes it received that wait for their time to go to its peer."""

    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float):
        self.loop, self.delay = loop, delay
        self.peer: Side | None = None
        self.transport: asyncio.Transport | None = None
        self.queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self.queued = 0
        self.timer: asyncio.TimerHandle | None = None
        self.ended = False  # this socket sent EOF or is gone: nothing more comes
        self.lost = False  # this socket is gone
        self.shut = False  # EOF was passed on to this socket
        self.paused = False  # reading is paused (queue full, or the peer's socket)
        self.peer_full = False

    # -- asyncio's callbacks
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.queue.append((self.loop.time() + self.delay, data))
        self.queued += len(data)
        self.throttle()
        self.schedule()

    def eof_received(self):
        self.ended = True
        self.schedule()
        self.close_if_done()
        return True  # the other direction may still be busy

    def connection_lost(self, exc):
        self.ended = self.lost = True
        self.schedule()

    def pause_writing(self):  # this socket's send buffer is full
        if self.peer:
            self.peer.peer_full = True
            self.peer.throttle()

    def resume_writing(self):
        if self.peer:
            self.peer.peer_full = False
            self.peer.throttle()

    # -- the delay queue
    def schedule(self):
        if self.timer is None and self.peer is not None:
            when = self.queue[0][0] if self.queue else self.loop.time()
            self.timer = self.loop.call_at(when, self.flush)

    def flush(self):
        """Writes what is due to the peer; after the last bytes, passes EOF on."""
        self.timer = None
        out = self.peer.transport
        if out.is_closing():
            self.queue.clear()
            self.queued = 0
        now = self.loop.time()
        batch = []
        while self.queue and self.queue[0][0] <= now:
            batch.append(self.queue.popleft()[1])
        if batch:
            data = batch[0] if len(batch) == 1 else b"".join(batch)
            self.queued -= len(data)
            out.write(data)
            self.throttle()
        if self.queue:
            self.schedule()  # the head is not due yet (or the timer was early)
        elif self.ended and not out.is_closing():
            if self.lost or not out.can_write_eof():
                out.close()  # sends what it buffered, then closes
                return
            try:
                out.write_eof()
            except OSError:  # the peer is gone already
                out.close()
                return
            self.peer.shut = True
            self.peer.close_if_done()

    def throttle(self):
        """Pauses reading while the queue or the peer's socket is full."""
        stop = self.peer_full or self.queued >= HIGH_WATER
        if stop == self.paused or self.transport is None or self.transport.is_closing():
            return
        self.paused = stop
        if stop:
            self.transport.pause_reading()
        else:
            self.transport.resume_reading()

    def close_if_done(self):
        if self.ended and self.shut and not self.transport.is_closing():
            self.transport.close()


class Listener:
    """Makes the client's Side; reads from it once the server's is connected."""

    def __init__(self, loop, target, delay):
        self.loop, self.target, self.delay = loop, target, delay

    def __call__(self):
        client = Side(self.loop, self.delay)
        made = client.connection_made

        def connection_made(transport):
            made(transport)
            transport.pause_reading()
            self.loop.create_task(self.connect(client))

        client.connection_made = connection_made
        return client

    async def connect(self, client: Side):
        try:
            _, server = await self.loop.create_connection(
                lambda: Side(self.loop, self.delay), *self.target)
        except OSError as e:
            print(f"latency-proxy: cannot connect to {self.target[0]}:{self.target[1]}: {e}",
                  file=sys.stderr)
            client.transport.close()
            return
        client.peer, server.peer = server, client
        if client.lost:
            server.transport.close()
            return
        client.transport.resume_reading()
        for side in (client, server):
            side.schedule()  # anything that came before the pairing


async def main(args) -> None:
    host, _, port = args.target.rpartition(":")
    target = (host.strip("[]"), int(port))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Listener(loop, target, args.delay_ms / 1000), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    if args.port_file:
        tmp = f"{args.port_file}.tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="latency-proxy.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--target", required=True, metavar="HOST:PORT")
    p.add_argument("--delay-ms", type=float, default=10, metavar="MS",
                   help="delay added in each direction (default 10)")
    p.add_argument("--port-file", metavar="FILE")
    asyncio.run(main(p.parse_args()))
