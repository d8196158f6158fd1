"""python -m devstack.vendors <stripe|amplitude|chargify> --port N [--host 127.0.0.1 --seed 42 --scale 1.0]

Runs one vendor stand-in until SIGTERM/SIGINT. Credentials come from the environment:
DW_STANDIN_KEY (Stripe secret key, Chargify API key, Amplitude API key) and
DW_STANDIN_SECRET (Amplitude secret key).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from devstack.vendors import VENDORS, vendor_class
from devstack.vendors.base import serve


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m devstack.vendors")
    ap.add_argument("vendor", choices=VENDORS)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args(argv)
    key = os.environ.get("DW_STANDIN_KEY")
    if not key:
        print("DW_STANDIN_KEY is not set", file=sys.stderr)
        return 2
    creds = {"key": key, "api_key": key, "secret_key": os.environ.get("DW_STANDIN_SECRET", "")}
    vendor = vendor_class(a.vendor)(seed=a.seed, scale=a.scale, credentials=creds)
    srv = serve(vendor, a.host, a.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"{a.vendor} stand-in on http://{a.host}:{a.port} (seed {a.seed}, scale {a.scale})", flush=True)
    stop.wait()
    srv.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
