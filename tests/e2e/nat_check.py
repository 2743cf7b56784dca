#!/usr/bin/python3
"""Traffic through DEST and SOURCE for nat_e2e.sh: UDP checks and an HTTP server.

    nat_check.py udp --client NS:PORT --server NS:PORT --to ADDR:PORT \\
        --seen-source ADDR [--size N] [--reply-size N] [--count N]

A UDP request/response, client and server in one process: the client's socket
lives in the client namespace, the server's in the server namespace (created
there with setns, as udp_client.py does), so one script checks both ends of
every exchange without races between processes. Each round the client sends
--size random bytes to --to (the public address). The server must receive
exactly those bytes, from --seen-source (the client's real address, since DEST
rewrites only the destination) and the client's port; it answers --reply-size
random bytes, which the client must receive exactly, from --to (SOURCE rewrote
the server's address back). Datagrams larger than the MTU leave both kernels as
IP fragments: "exactly" then means reassembled whole. Prints one line per
round; on the first failure prints FAIL and exits 1.

    nat_check.py http-server --bind ADDR:PORT --directory DIR

Serves DIR over HTTP/1.0 like `python3 -m http.server`, logging each request
with the client's address to stderr, but without its reverse DNS lookup of the
bind address: that would leave the namespace as a query the relay cannot route.
Run it inside the server namespace.
"""

import argparse
import functools
import http.server
import os
import select
import socketserver
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from udp_client import addr_port, udp_endpoint  # noqa: E402

MAX_DATAGRAM = 65535


class Fail(Exception):
    pass


def ns_port(text):
    ns, _, port = text.rpartition(":")
    if not ns or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not NS:PORT")
    return ns, int(port)


def receive(sock, who, timeout):
    """One datagram as (data, (addr, port)); Fail when none arrives in time."""
    ready, _, _ = select.select([sock], [], [], timeout)
    if not ready:
        raise Fail(f"{who} received nothing within {timeout} s")
    return sock.recvfrom(MAX_DATAGRAM)


def expect_nothing_more(socks, seconds):
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select(list(socks.values()), [], [], left)
        for name, s in socks.items():
            if s in ready:
                data, src = s.recvfrom(MAX_DATAGRAM)
                raise Fail(f"{name} received an unexpected {len(data)}-byte datagram from {src}")


def describe(data, want):
    if len(data) != len(want):
        return f"{len(data)} bytes, expected {len(want)}"
    first = next(i for i in range(len(data)) if data[i] != want[i])
    return f"{len(data)} bytes, differing from byte {first} on"


def run(args):
    client = udp_endpoint(*args.client)
    server = udp_endpoint(*args.server)
    to = args.to
    for n in range(1, args.count + 1):
        request = os.urandom(args.size)
        client.sendto(request, to)
        data, src = receive(server, "server", args.timeout)
        if src != (args.seen_source, args.client[1]):
            raise Fail(f"round {n}: server got the request from {src[0]}:{src[1]}, "
                       f"expected {args.seen_source}:{args.client[1]}")
        if data != request:
            raise Fail(f"round {n}: the request arrived damaged: {describe(data, request)}")
        reply = os.urandom(args.reply_size)
        server.sendto(reply, src)
        data, rsrc = receive(client, "client", args.timeout)
        if rsrc != to:
            raise Fail(f"round {n}: client got the reply from {rsrc[0]}:{rsrc[1]}, "
                       f"expected {to[0]}:{to[1]}")
        if data != reply:
            raise Fail(f"round {n}: the reply arrived damaged: {describe(data, reply)}")
        print(f"round {n}: {args.size} bytes {args.client[1]} -> {to[0]}:{to[1]}, "
              f"seen by the server from {src[0]}:{src[1]}; "
              f"{args.reply_size} bytes back from {rsrc[0]}:{rsrc[1]}", flush=True)
    expect_nothing_more({"client": client, "server": server}, args.quiet)


class HttpServer(http.server.ThreadingHTTPServer):
    def server_bind(self):
        # HTTPServer.server_bind would also look up the bind address's name.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def http_server(args):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=args.directory)
    with HttpServer(args.bind, handler) as server:
        server.serve_forever()
    return 0


def udp(args):
    if args.reply_size is None:
        args.reply_size = args.size
    try:
        run(args)
    except Fail as e:
        print(f"FAIL {e}", flush=True)
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    u = sub.add_parser("udp", help="UDP request/response through DEST and SOURCE")
    u.set_defaults(func=udp)
    u.add_argument("--client", type=ns_port, required=True, help="NS:PORT of the client")
    u.add_argument("--server", type=ns_port, required=True, help="NS:PORT of the server")
    u.add_argument("--to", type=addr_port, required=True,
                   help="ADDR:PORT the client sends to (the DEST address)")
    u.add_argument("--seen-source", required=True,
                   help="the client address the server must see")
    u.add_argument("--size", type=int, default=64)
    u.add_argument("--reply-size", type=int, default=None)
    u.add_argument("--count", type=int, default=1)
    u.add_argument("--timeout", type=float, default=3.0)
    u.add_argument("--quiet", type=float, default=0.3,
                   help="seconds in which no duplicate may arrive after the last round")
    h = sub.add_parser("http-server", help="serve a directory over HTTP")
    h.set_defaults(func=http_server)
    h.add_argument("--bind", type=addr_port, required=True, help="ADDR:PORT to listen on")
    h.add_argument("--directory", required=True)
    args = ap.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
