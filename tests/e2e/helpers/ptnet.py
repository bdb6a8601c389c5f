#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Small servers and clients for the e2e tests (standard library only).

Servers (run in the background, killed by PID by the test):
  serve NAME [--udp] [--index] [--pktinfo] [--v6only|--dual] [--ready FILE]
        [tcp:|udp:]ADDR:PORT...
      One process, one socket per ADDR:PORT (no SO_REUSEPORT), TCP unless
      prefixed udp: or given --udp. TCP: every
      connection gets "NAME\\n" (or "NAME IDX\\n" with --index, IDX the
      position of the listener it arrived on), then its lines are echoed
      back until EOF. UDP: every datagram is answered with the same line.
      --pktinfo (UDP) sets IP_PKTINFO and IP_RECVORIGDSTADDR (IPv6: the
      IPV6_ variants) and answers from the datagram's original destination
      address and port, so a connected client gets the reply.
  fdserve NAME ADDR:PORT --ready FILE -- CMD...
      Open a TCP listener, run CMD with "--fd N" appended and the listener
      inherited as fd N, write CMD's exit status to FILE, then serve it.

Clients (bounded by --timeout per operation):
  loop ADDR PORT COUNT [--src ADDR] [--sports SPEC] [--delay S]
        [--timeout S] [--out FILE] [--stop-after FILE:N]
      COUNT sequential connections; one line each: "SPORT REPLY" or
      "SPORT FAIL <error>". SPEC: "40000-40015,40020" (cycled through).
      --stop-after: stop N connections after FILE appears (COUNT at most).
      Connections are closed with SO_LINGER 0 (no TIME_WAIT).
  hold ADDR PORT TRIGGER OUT [--timeout S]
      Connect, write the greeting to OUT, wait (bounded) until the file
      TRIGGER exists, send "ping", append the echoed line to OUT.
  udp ADDR PORT [--connect] [--count N] [--timeout S]
      Send "ping" (N times from one socket) and print "REPLY FROM-ADDR
      FROM-PORT" for each reply (--connect: a connected socket, which takes
      replies only from ADDR:PORT).
"""
import errno
import os
import selectors
import socket
import struct
import subprocess
import sys
import time

IP_PKTINFO = 8
IP_FREEBIND = 15
IP_RECVORIGDSTADDR = 20
IPV6_RECVPKTINFO = 49
IPV6_PKTINFO = 50
IPV6_RECVORIGDSTADDR = 74
IPV6_FREEBIND = 78


def parse_addr(s):
    """ADDR:PORT or [V6]:PORT -> (family, addr, port)."""
    if s.startswith("["):
        host, _, port = s[1:].partition("]:")
        return socket.AF_INET6, host, int(port)
    host, _, port = s.rpartition(":")
    return socket.AF_INET, host, int(port)


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def take_opts(args, flags, valued):
    """Split args into (options dict, positionals)."""
    opts, pos, i = {}, [], 0
    while i < len(args):
        a = args[i]
        if a == "--":
            pos.append(args[i:])
            break
        if a in flags:
            opts[a] = True
        elif a in valued:
            opts[a] = args[i + 1]
            i += 1
        elif a.startswith("--"):
            sys.exit("unknown option " + a)
        else:
            pos.append(a)
        i += 1
    return opts, pos


def ready(path, text="ok"):
    if path:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.rename(tmp, path)


# ---- servers ----

def make_listener(fam, host, port, proto, v6only):
    s = socket.socket(fam, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6 and v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.bind((host, port))
    if proto == "tcp":
        s.listen(1024)
    return s


def serve(socks, greeting, pktinfo=False):
    """TCP listeners and UDP sockets, in one loop."""
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        s.setblocking(False)
        if s.type == socket.SOCK_DGRAM:
            if pktinfo:
                set_pktinfo(s)
            sel.register(s, selectors.EVENT_READ, ("U", i))
        else:
            sel.register(s, selectors.EVENT_READ, ("L", i))
    while True:
        for key, _ in sel.select():
            kind, i = key.data
            if kind == "U":
                answer_udp(key.fileobj, greeting(i).encode(), pktinfo)
                continue
            if kind == "L":
                try:
                    c, _ = key.fileobj.accept()
                except OSError:
                    continue
                c.setblocking(False)
                try:
                    c.send(greeting(i).encode())
                except OSError:
                    c.close()
                    continue
                sel.register(c, selectors.EVENT_READ, ("C", i))
                continue
            c = key.fileobj
            try:
                data = c.recv(4096)
            except OSError:
                data = b""
            if data:
                try:
                    c.send(data)
                    continue
                except OSError:
                    pass
            sel.unregister(c)
            c.close()


def orig_dst(ancdata, fam):
    """The original destination (addr, port) from IP(V6)_ORIGDSTADDR."""
    for level, typ, data in ancdata:
        if fam == socket.AF_INET and level == socket.IPPROTO_IP and typ == IP_RECVORIGDSTADDR:
            port = struct.unpack("!H", data[2:4])[0]
            return socket.inet_ntop(socket.AF_INET, data[4:8]), port
        if fam == socket.AF_INET6 and level == socket.IPPROTO_IPV6 and typ == IPV6_RECVORIGDSTADDR:
            port = struct.unpack("!H", data[2:4])[0]
            return socket.inet_ntop(socket.AF_INET6, data[8:24]), port
    return None


def reply_from(fam, src, dst, payload):
    """Send payload to dst from the address and port src (a port this
    process does not own: a short-lived socket bound there)."""
    r = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET:
            r.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        else:
            r.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
        r.bind(src)
        r.sendto(payload, dst)
    finally:
        r.close()


def set_pktinfo(s):
    if s.family == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        s.setsockopt(socket.IPPROTO_IP, IP_RECVORIGDSTADDR, 1)
    else:
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVORIGDSTADDR, 1)


def answer_udp(s, payload, pktinfo):
    try:
        _, anc, _, peer = s.recvmsg(2048, 1024)
    except OSError:
        return
    try:
        od = orig_dst(anc, s.family) if pktinfo else None
        if od and od[1] != s.getsockname()[1]:
            reply_from(s.family, od, peer, payload)
        elif od and s.family == socket.AF_INET:
            info = struct.pack("@i4s4s", 0, socket.inet_aton(od[0]), b"\0" * 4)
            s.sendmsg([payload], [(socket.IPPROTO_IP, IP_PKTINFO, info)], 0, peer)
        elif od:
            info = struct.pack("@16si", socket.inet_pton(socket.AF_INET6, od[0]), 0)
            s.sendmsg([payload], [(socket.IPPROTO_IPV6, IPV6_PKTINFO, info)], 0, peer)
        else:
            s.sendto(payload, peer)
    except OSError as e:
        sys.stderr.write("reply failed: %s\n" % e)


def cmd_serve(args):
    opts, pos = take_opts(args, {"--udp", "--index", "--pktinfo", "--v6only", "--dual"},
                          {"--ready"})
    name, addrs = pos[0], pos[1:]
    v6only = 1 if opts.get("--v6only") else 0 if opts.get("--dual") else None
    socks = []
    for a in addrs:
        proto = "udp" if opts.get("--udp") else "tcp"
        if a.startswith("udp:") or a.startswith("tcp:"):
            proto, a = a[:3], a[4:]
        socks.append(make_listener(*parse_addr(a), proto, v6only))
    if opts.get("--index"):
        greeting = lambda i: "%s %d\n" % (name, i)
    else:
        greeting = lambda i: "%s\n" % name
    ready(opts.get("--ready"))
    serve(socks, greeting, opts.get("--pktinfo", False))


def cmd_fdserve(args):
    opts, pos = take_opts(args, set(), {"--ready"})
    name, addr, cmd = pos[0], pos[1], pos[2][1:]
    s = make_listener(*parse_addr(addr), "tcp", None)
    fd = s.fileno()
    rc = subprocess.call(cmd + ["--fd", str(fd)], pass_fds=(fd,))
    ready(opts.get("--ready"), str(rc))
    serve([s], lambda i: "%s\n" % name)


# ---- clients ----

def read_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(4096)
        if not d:
            break
        buf += d
    return buf.decode(errors="replace").strip()


def parse_ports(spec):
    out = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def cmd_loop(args):
    opts, pos = take_opts(args, set(), {"--src", "--sports", "--delay", "--timeout", "--out",
                                        "--stop-after"})
    host, port, count = pos[0], int(pos[1]), int(pos[2])
    fam = family_of(host)
    src = opts.get("--src", "")
    sports = parse_ports(opts["--sports"]) if "--sports" in opts else [0]
    delay = float(opts.get("--delay", "0"))
    timeout = float(opts.get("--timeout", "2"))
    out = open(opts["--out"], "w", buffering=1) if "--out" in opts else sys.stdout
    stop_file, stop_more = None, 0
    if "--stop-after" in opts:
        stop_file, _, more = opts["--stop-after"].partition(":")
        stop_more = int(more)
    for n in range(count):
        if stop_file and os.path.exists(stop_file):
            if stop_more <= 0:
                break
            stop_more -= 1
        sport = sports[n % len(sports)]
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if src or sport:
                s.bind((src, sport))
            s.connect((host, port))
            line = read_line(s)
            res = line if line else "FAIL empty"
        except OSError as e:
            res = "FAIL " + (errno.errorcode.get(e.errno, str(e)) if e.errno else str(e))
        finally:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            s.close()
        out.write("%d %s\n" % (sport, res))
        out.flush()
        if delay:
            time.sleep(delay)


def cmd_hold(args):
    opts, pos = take_opts(args, set(), {"--timeout"})
    host, port, trigger, outp = pos[0], int(pos[1]), pos[2], pos[3]
    timeout = float(opts.get("--timeout", "20"))
    s = socket.create_connection((host, port), timeout=2)
    with open(outp, "w", buffering=1) as out:
        out.write(read_line(s) + "\n")
        deadline = time.monotonic() + timeout
        while not os.path.exists(trigger):
            if time.monotonic() > deadline:
                out.write("FAIL no trigger\n")
                return 1
            time.sleep(0.02)
        s.sendall(b"ping\n")
        line = read_line(s)
        out.write((line or "FAIL closed") + "\n")
    s.close()
    return 0


def cmd_udp(args):
    opts, pos = take_opts(args, {"--connect"}, {"--timeout", "--count"})
    host, port = pos[0], int(pos[1])
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.settimeout(float(opts.get("--timeout", "2")))
    if opts.get("--connect"):
        s.connect((host, port))
    for _ in range(int(opts.get("--count", "1"))):
        try:
            if opts.get("--connect"):
                s.send(b"ping\n")
            else:
                s.sendto(b"ping\n", (host, port))
            data, peer = s.recvfrom(2048)
        except OSError as e:
            print("FAIL", e)
            return 1
        print(data.decode().strip(), peer[0], peer[1])
    return 0


def main():
    cmds = {"serve": cmd_serve, "fdserve": cmd_fdserve, "loop": cmd_loop,
            "hold": cmd_hold, "udp": cmd_udp}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    sys.exit(cmds[sys.argv[1]](sys.argv[2:]) or 0)


if __name__ == "__main__":
    main()
