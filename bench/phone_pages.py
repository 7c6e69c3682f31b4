"""Pages on a phone over a slow connection: requests, bytes and load time, cold and warm.

    .venv/bin/python bench/phone_pages.py                 # 400 kbit/s down and up, 400 ms round trip
    .venv/bin/python bench/phone_pages.py --kbps 1600 --rtt 150

A hub with the demo content is served on 127.0.0.1 from a temporary folder; Debian's Chromium,
390 × 844 and asking for Chinese, has its network throttled through the DevTools protocol
(Network.emulateNetworkConditions). For each page it prints a cold load (new browser context,
empty cache) and a warm one (the same context, after another page, as a reader moves through
the hub): requests that went over the network (not those the cache answered), bytes received,
and time to the load event.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from hub import create_app, demo, worker  # noqa: E402
from hub.extensions import db  # noqa: E402

CHROMIUM = "/usr/lib/chromium/chromium"
PAGES = ["/", "/notes", "/search?q=美沙酮", "/projects"]


def serve_demo_hub(folder: str) -> str:
    """Start a hub with the demo content in a thread; return its address."""
    app = create_app({"ENV": "development", "SECRET_KEY": "bench", "INSTANCE_PATH": folder,
                      "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite", "BASE_URL": "http://127.0.0.1"})
    with app.app_context():
        db.create_all()
        demo.load()
        worker.run_once(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def throttled_page(context, kbps: int, rtt: int):
    """Open a page whose network runs at ``kbps`` with ``rtt`` ms round trips."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": rtt,
                                                  "downloadThroughput": kbps * 1000 / 8,
                                                  "uploadThroughput": kbps * 1000 / 8})
    received = {"requests": 0, "bytes": 0}
    # Every resource announces itself; those the cache answers do not reach the network.
    cdp.on("Network.requestWillBeSent", lambda _e: received.update(requests=received["requests"] + 1))
    cdp.on("Network.requestServedFromCache", lambda _e: received.update(requests=received["requests"] - 1))
    cdp.on("Network.loadingFinished", lambda e: received.update(bytes=received["bytes"] + e["encodedDataLength"]))
    return page, received


def measure(page, received, go) -> tuple[int, int, float]:
    """Run ``go`` (a navigation) and return requests, bytes and seconds to the load event."""
    received.update(requests=0, bytes=0)
    started = time.monotonic()
    go()
    page.wait_for_load_state("load")
    seconds = time.monotonic() - started
    page.wait_for_load_state("networkidle")  # late requests still count, and every byte has arrived
    return received["requests"], received["bytes"], seconds


def main() -> None:
    """Print a table of cold and warm loads."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--kbps", type=int, default=400)
    options.add_argument("--rtt", type=int, default=400)
    args = options.parse_args()
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        base = serve_demo_hub(folder)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"])
        print(f"{args.kbps} kbit/s, {args.rtt} ms round trip; 390 × 844, zh-CN")
        print(f"{'page':<22} {'cold: requests':>14} {'KB':>6} {'s':>5}   {'warm: requests':>14} {'s':>5}")
        for path in PAGES:
            context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", base_url=base)
            page, received = throttled_page(context, args.kbps, args.rtt)
            cold = measure(page, received, lambda: page.goto(path, wait_until="commit"))
            page.goto("/projects" if path == "/" else "/", wait_until="load")  # elsewhere, then back again
            warm = measure(page, received, lambda: page.goto(path, wait_until="commit"))
            # Warm bytes are left out: events of the page before arrive late and blur them.
            print(f"{path:<22} {cold[0]:>14} {cold[1] / 1024:>6.1f} {cold[2]:>5.2f}   {warm[0]:>14} {warm[2]:>5.2f}")
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
