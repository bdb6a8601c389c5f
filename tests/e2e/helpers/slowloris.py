# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Slow HTTP clients: each connects to ADDR:PORT from a given source
address, sends the start of a request and then one more header line every
INTERVAL seconds, never finishing it, for at most LIFETIME seconds.

usage: slowloris.py ADDR PORT STATUS LIFETIME INTERVAL SRC:COUNT...

Every tick (and at the end) STATUS is rewritten atomically with one line:
    connected C refused R open O cut K answered A
C connections were made; R of them the server closed within its first
second without a byte of answer (refused at a limit); K were closed by the
server later (cut), while this client was still sending; O are still open;
A got any bytes of answer. Bounded: LIFETIME seconds, then it closes
everything and exits 0.
"""
import os
import selectors
import socket
import sys
import time


def write_status(path, counts):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("connected %(connected)d refused %(refused)d open %(open)d "
                "cut %(cut)d answered %(answered)d\n" % counts)
    os.replace(tmp, path)


def main():
    addr, port, status, lifetime, interval = sys.argv[1:6]
    port, lifetime, interval = int(port), float(lifetime), float(interval)
    sources = []
    for spec in sys.argv[6:]:
        src, n = spec.rsplit(":", 1)
        sources += [src] * int(n)
    sel = selectors.DefaultSelector()
    conns = []
    start = time.monotonic()
    for i, src in enumerate(sources):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((src, 0))
        s.settimeout(5)
        s.connect((addr, port))
        s.setblocking(False)
        c = {"sock": s, "t0": time.monotonic(), "state": "open", "n": 0,
             "answered": False}
        try:
            s.send(b"GET /metrics HTTP/1.1\r\nHost: %s\r\n" % addr.encode())
        except OSError:
            pass
        sel.register(s, selectors.EVENT_READ, c)
        conns.append(c)

    def counts():
        k = {"connected": len(conns), "refused": 0, "open": 0, "cut": 0,
             "answered": 0}
        for c in conns:
            k[c["state"]] += 1
            k["answered"] += c["answered"]
        return k

    def closed_by_server(c):
        if c["state"] != "open":
            return
        sel.unregister(c["sock"])
        c["sock"].close()
        early = time.monotonic() - c["t0"] < 1.0 and not c["answered"]
        c["state"] = "refused" if early else "cut"

    next_tick = time.monotonic()
    while time.monotonic() - start < lifetime:
        now = time.monotonic()
        if now >= next_tick:
            for c in conns:
                if c["state"] != "open":
                    continue
                try:
                    c["sock"].send(b"X-Slow-%d: y\r\n" % c["n"])
                    c["n"] += 1
                except OSError:
                    closed_by_server(c)
            write_status(status, counts())
            next_tick = now + interval
        for key, _ in sel.select(timeout=max(0.0, min(0.1, next_tick - now))):
            c = key.data
            try:
                data = c["sock"].recv(4096)
            except OSError:
                data = b""
            if data:
                c["answered"] = True
            else:
                closed_by_server(c)
    for c in conns:
        if c["state"] == "open":
            c["sock"].close()
    write_status(status, counts())


if __name__ == "__main__":
    main()
