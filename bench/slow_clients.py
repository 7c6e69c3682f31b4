"""Slow clients (slowloris) against the production stack: gunicorn alone, and behind nginx (issue 11, item 9).

    .venv/bin/python bench/slow_clients.py                 # 3 and 120 slow clients, 30 s each: about 3 minutes
    .venv/bin/python bench/slow_clients.py --clients 3 --seconds 20

Starts a throwaway PostgreSQL, `flask hub init`, gunicorn as documented (hub/gunicorn_conf.py:
gthread, 3 processes x 4 threads) and nginx with deploy/nginx/hub-proxy.conf. Then, for each
number of slow clients, each client opens a connection, starts a request and sends one more
header line every 5 s (the issue's attack), while /healthz is asked every 0.25 s with a 3 s
timeout: once straight at gunicorn, once through nginx. Prints how many /healthz requests
answered and the slowest. Also `--worker-class sync` to see the issue's original set-up.
"""
from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pg import start_server  # noqa: E402
from tests.stack import flask, production_env, start_gunicorn, start_nginx  # noqa: E402


def attack(target_port: int, probe_url: str, clients: int, seconds: float) -> tuple[int, int, float]:
    """Hold ``clients`` slow connections on ``target_port`` while probing; return (answered, asked, slowest)."""
    socks = []
    for _ in range(clients):
        sock = socket.create_connection(("127.0.0.1", target_port), timeout=5)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: hub.test\r\n")
        socks.append(sock)
    answered = asked = 0
    slowest = 0.0
    started = time.monotonic()
    next_header = started + 5
    try:
        while time.monotonic() - started < seconds:
            if time.monotonic() >= next_header:
                for sock in socks:
                    try:
                        sock.sendall(b"X-Slow: 1\r\n")
                    except OSError:
                        pass
                next_header += 5
            asked += 1
            began = time.monotonic()
            try:
                if requests.get(probe_url, timeout=3).status_code == 200:
                    answered += 1
            except requests.RequestException:
                pass
            slowest = max(slowest, time.monotonic() - began)
            time.sleep(0.25)
    finally:
        for sock in socks:
            sock.close()
    return answered, asked, slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="*", default=[3, 120])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    args = parser.parse_args()
    server = start_server()
    web = proxy = None
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            env = production_env(root / "instance", server.create_database("hub"))
            flask(env, "hub", "init")
            web = start_gunicorn(env, root / "gunicorn.log", extra=("--worker-class", args.worker_class))
            proxy = start_nginx(root / "nginx", web.port)
            print(f"gunicorn -w 3 --worker-class {args.worker_class} (threads 4 with gthread); "
                  f"{args.seconds:.0f} s per run, /healthz every 0.25 s with a 3 s timeout")
            print(f"{'slow clients':>12} {'path':<16} {'answered':>10} {'slowest':>9}")
            for clients in args.clients:
                for name, port, url in (("gunicorn alone", web.port, web.url), ("through nginx", proxy.port, proxy.url)):
                    answered, asked, slowest = attack(port, url + "/healthz", clients, args.seconds)
                    print(f"{clients:>12} {name:<16} {answered:>4}/{asked:<5} {slowest:>8.2f}s", flush=True)
                    time.sleep(2)
    finally:
        for process in (proxy, web):
            if process:
                process.stop()
        server.stop()


if __name__ == "__main__":
    main()
