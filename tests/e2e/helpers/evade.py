#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Evasion forms against the guard, with scapy (Debian's python3-scapy).

  evade.py syn IFACE DSTMAC SRC DST DPORT FORM... [--timeout S]
      For each FORM in turn: send one TCP SYN from SRC to DST:DPORT out of
      IFACE (to DSTMAC) in that form, wait (bounded, --timeout, default
      0.5 s: over a veth a SYN-ACK takes well under a millisecond) for a
      SYN-ACK and print "FORM FRAMES SYNACKS": how many frames were sent
      and how many distinct SYN-ACKs came back. SRC should be an address
      the sender does not own (a pinned neighbour of the receiver), so that
      no RST answers the SYN-ACK and the receiver's counters stay exact.
      Each SYN has its own source port and fragment id. FORM:
        plain        one whole SYN
        tiny8        IPv4 fragments of 8 bytes of TCP each (RFC 1858): the
                     first holds only the ports and the sequence number, the
                     second sits at offset 1 (RFC 3128), 3 frames
        tiny16opts   the SYN with 20 bytes of TCP options (doff 10) in
                     fragments of 16 bytes: 3 frames, the flags in the first
                     but its header incomplete
        ext2         IPv6: behind 2 destination options headers
        ext9         IPv6: behind 9 destination options headers (one more
                     than the guard follows)
        frag6tiny    IPv6 fragments of 8 bytes of TCP each, 3 frames
        vlan3        behind 3 priority tags (VLAN id 0), which the stack
                     strips one after another
        vlan1tiny8   tiny8 behind one priority tag
  evade.py udpfrag IFACE DSTMAC SRC DST DPORT SIZE [--id N]
      Send one UDP datagram of SIZE bytes of payload in IPv4 fragments of
      at most 1480 bytes, print the number of frames.

Addresses are the test's own (198.18.0.0/15, 2001:db8::/32); nothing is
sent anywhere else. Every wait is bounded.
"""
import argparse
import random
import select
import socket
import sys
import time

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw
from scapy.compat import raw
from scapy.config import conf

conf.verb = 0


def frags4(src, dst, l4, proto, size, ident):
    """l4 (bytes) cut in IPv4 fragments of size bytes (a multiple of 8)."""
    out = []
    for off in range(0, len(l4), size):
        more = off + size < len(l4)
        out.append(IP(src=src, dst=dst, proto=proto, id=ident,
                      flags="MF" if more else 0, frag=off // 8) /
                   Raw(l4[off:off + size]))
    return out


def frags6(src, dst, l4, nh, size, ident):
    out = []
    for off in range(0, len(l4), size):
        more = off + size < len(l4)
        out.append(IPv6(src=src, dst=dst) /
                   IPv6ExtHdrFragment(nh=nh, offset=off // 8, m=int(more), id=ident) /
                   Raw(l4[off:off + size]))
    return out


def syn_frames(a, sport):
    v6 = ":" in a.dst
    ip = IPv6(src=a.src, dst=a.dst) if v6 else IP(src=a.src, dst=a.dst)
    syn = TCP(sport=sport, dport=a.dport, flags="S", seq=random.randrange(1 << 32))
    form = a.cur
    if form == "plain":
        return [ip / syn]
    if form in ("tiny8", "vlan1tiny8"):
        l4 = raw(ip / syn)[20:]
        return frags4(a.src, a.dst, l4, 6, 8, a.id)
    if form == "tiny16opts":
        syn.options = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)),
                       ("NOP", None), ("WScale", 7)]
        l4 = raw(ip / syn)[20:]
        if len(l4) != 40:
            raise SystemExit("tiny16opts: the SYN is %d bytes, want 40" % len(l4))
        return frags4(a.src, a.dst, l4, 6, 16, a.id)
    if form in ("ext2", "ext9"):
        n = 2 if form == "ext2" else 9
        p = ip
        for _ in range(n):
            p = p / IPv6ExtHdrDestOpt()
        return [p / syn]
    if form == "frag6tiny":
        l4 = raw(ip / syn)[40:]
        return frags6(a.src, a.dst, l4, 6, 8, a.id)
    if form == "vlan3":
        return [ip / syn]
    raise SystemExit("unknown form " + form)


def l2(a, frames):
    tags = {"vlan3": 3, "vlan1tiny8": 1}.get(getattr(a, "cur", ""), 0)
    out = []
    for f in frames:
        e = Ether(dst=a.dstmac, src=a.srcmac)
        for _ in range(tags):
            e = e / Dot1Q(vlan=0)
        out.append(e / f)
    return out


def open_raw(iface):
    """An AF_PACKET socket on iface: it sends the frames and sees the replies."""
    sk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sk.bind((iface, 0))
    return sk


def mac_of(sk):
    return ":".join("%02x" % b for b in sk.getsockname()[4][:6])


def do_syn(a):
    sk = open_raw(a.iface)
    a.srcmac = mac_of(sk)
    for form in a.form:
        a.cur = form
        a.id = random.randrange(1, 65536)
        print(form, *syn_one(a, sk))
        sys.stdout.flush()
    sk.close()


def syn_one(a, sk):
    """Send one SYN in form a.cur; count the SYN-ACKs that answer it."""
    sport = random.randrange(40000, 60000)
    frames = l2(a, syn_frames(a, sport))
    for f in frames:
        sk.send(raw(f))
    seqs = set()
    deadline = time.monotonic() + a.timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or seqs:
            break
        ready, _, _ = select.select([sk], [], [], left)
        if not ready:
            continue
        data, addr = sk.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        p = Ether(data)
        if (TCP in p and p[TCP].sport == a.dport and p[TCP].dport == sport and
                (int(p[TCP].flags) & 0x12) == 0x12):
            seqs.add(int(p[TCP].seq))
    return len(frames), len(seqs)


def do_udpfrag(a):
    payload = bytes(random.randrange(256) for _ in range(a.size))
    sk = open_raw(a.iface)
    a.srcmac = mac_of(sk)
    l4 = raw(IP(src=a.src, dst=a.dst) / UDP(sport=random.randrange(40000, 60000),
                                            dport=a.dport) / Raw(payload))[20:]
    frames = l2(a, frags4(a.src, a.dst, l4, 17, 1480, a.id))
    for f in frames:
        sk.send(raw(f))
    sk.close()
    print(len(frames))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("syn")
    u = sub.add_parser("udpfrag")
    for p in (s, u):
        p.add_argument("iface")
        p.add_argument("dstmac")
        p.add_argument("src")
        p.add_argument("dst")
        p.add_argument("dport", type=int)
        p.add_argument("--id", type=int, default=random.randrange(1, 65536))
    s.add_argument("form", nargs="+")
    s.add_argument("--timeout", type=float, default=0.5)
    u.add_argument("size", type=int)
    a = ap.parse_args()
    if not (a.dst.startswith(("198.18.", "198.19.", "2001:db8:")) and
            a.src.startswith(("198.18.", "198.19.", "2001:db8:"))):
        raise SystemExit("evade.py: only test addresses (198.18.0.0/15, 2001:db8::/32)")
    if a.cmd == "syn":
        do_syn(a)
    else:
        do_udpfrag(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
