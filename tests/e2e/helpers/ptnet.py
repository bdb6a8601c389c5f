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
  send ADDR PORT COUNT [--size N] [--src ADDR] [--sport N] [--delay S]
       [--dstopts]
      Send COUNT datagrams of exactly N bytes of payload (default 100) from
      one unconnected UDP socket, as fast as the socket takes them (or one
      per S seconds), expecting no reply; print the number sent.
      --dstopts (IPv6): each with an 8-byte destination options header.

More servers:
  sink --out FILE [--ready FILE] ADDR:PORT...
      Unconnected UDP sockets with a large receive buffer that never
      answer; every datagram received appends "PORT SRC-ADDR LENGTH" to
      FILE (PORT the local port it arrived on).

Raw frames:
  frame IFACE DSTMAC KIND [--count N] [--port P] [--size N] [--vlans V]
      Send N (default 1) hand-made Ethernet frames out of IFACE (AF_PACKET)
      to DSTMAC and print the frame length. KIND: short-ipv4 (an IPv4
      ethertype followed by 10 bytes: a truncated header), arp (a request
      for 198.18.0.2 from 198.18.0.1), icmp (an IPv4 echo request
      198.18.0.1 -> 198.18.0.2 with N bytes of payload), udp (IPv4
      198.18.0.1 -> 198.18.0.2, UDP 40000 -> P with N bytes of payload,
      behind V VLAN tags: 0, 1 = 802.1Q, 2 = 802.1ad + 802.1Q; --ipopts K:
      K 4-byte words of IPv4 options, NOPs and an end of list).
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


IPV6_DSTOPTS = 59


def cmd_send(args):
    opts, pos = take_opts(args, {"--dstopts"}, {"--size", "--src", "--sport", "--delay"})
    host, port, count = pos[0], int(pos[1]), int(pos[2])
    payload = b"x" * int(opts.get("--size", "100"))
    delay = float(opts.get("--delay", "0"))
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    if "--src" in opts or "--sport" in opts:
        s.bind((opts.get("--src", ""), int(opts.get("--sport", "0"))))
    sent = 0
    for _ in range(count):
        # unconnected: an ICMP error from the peer never fails a later send
        if opts.get("--dstopts"):
            # next header (the kernel sets it), length 0 (8 bytes), PadN 4
            dst = bytes([0, 0, 1, 4, 0, 0, 0, 0])
            n = s.sendmsg([payload], [(socket.IPPROTO_IPV6, IPV6_DSTOPTS, dst)], 0, (host, port))
        else:
            n = s.sendto(payload, (host, port))
        if n == len(payload):
            sent += 1
        if delay:
            time.sleep(delay)
    print(sent)
    return 0 if sent == count else 1


SINK_RCVBUF = 8 << 20
SO_RCVBUFFORCE = 33


def cmd_sink(args):
    opts, pos = take_opts(args, set(), {"--out", "--ready"})
    out = open(opts["--out"], "a", buffering=1)
    sel = selectors.DefaultSelector()
    for a in pos:
        fam, host, port = parse_addr(a)
        s = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, SINK_RCVBUF)
        except OSError:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SINK_RCVBUF)
        s.bind((host, port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, port)
    ready(opts.get("--ready"))
    while True:
        for key, _ in sel.select():
            while True:
                try:
                    data, peer = key.fileobj.recvfrom(65536)
                except OSError:
                    break
                out.write("%d %s %d\n" % (key.data, peer[0], len(data)))


def ip_checksum(hdr):
    total = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def cmd_frame(args):
    opts, pos = take_opts(args, set(), {"--count", "--port", "--size", "--vlans", "--ipopts"})
    ifname, dst, kind = pos[0], bytes.fromhex(pos[1].replace(":", "")), pos[2]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    src = s.getsockname()[4]
    me, peer = socket.inet_aton("198.18.0.1"), socket.inet_aton("198.18.0.2")
    if kind == "short-ipv4":
        frame = dst + src + b"\x08\x00" + bytes.fromhex("45000054000040004011")
    elif kind == "arp":
        frame = dst + src + b"\x08\x06" + struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1,
                                                        src, me, b"\0" * 6, peer)
    elif kind == "icmp":
        payload = b"x" * int(opts.get("--size", "56"))
        icmp = struct.pack("!BBHHH", 8, 0, 0, os.getpid() & 0xffff, 1) + payload
        if len(icmp) % 2:
            icmp += b"\0"
            csum = ip_checksum(icmp)
            icmp = icmp[:-1]
        else:
            csum = ip_checksum(icmp)
        icmp = icmp[:2] + struct.pack("!H", csum) + icmp[4:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0x4000, 64, 1, 0, me, peer)
        ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
        frame = dst + src + b"\x08\x00" + ip + icmp
    elif kind == "udp":
        payload = b"x" * int(opts.get("--size", "100"))
        udp = struct.pack("!HHHH", 40000, int(opts["--port"]), 8 + len(payload), 0) + payload
        words = int(opts.get("--ipopts", "0"))
        ipopts = (b"\x01" * (4 * words - 1) + b"\x00") if words else b""
        ip = struct.pack("!BBHHHBBH4s4s", 0x45 + words, 0, 20 + len(ipopts) + len(udp), 0, 0x4000,
                         64, 17, 0, me, peer) + ipopts
        ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
        tags = {0: b"", 1: b"\x81\x00\x00\x05",
                2: b"\x88\xa8\x00\x07\x81\x00\x00\x05"}[int(opts.get("--vlans", "0"))]
        frame = dst + src + tags + b"\x08\x00" + ip + udp
    else:
        sys.exit("unknown frame kind " + kind)
    for _ in range(int(opts.get("--count", "1"))):
        s.send(frame)
    print(len(frame))
    return 0


def main():
    cmds = {"serve": cmd_serve, "fdserve": cmd_fdserve, "loop": cmd_loop,
            "hold": cmd_hold, "udp": cmd_udp, "send": cmd_send, "sink": cmd_sink,
            "frame": cmd_frame}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    sys.exit(cmds[sys.argv[1]](sys.argv[2:]) or 0)


if __name__ == "__main__":
    main()
