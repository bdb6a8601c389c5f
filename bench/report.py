#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The table of `make bench`: bench/report.py RESULTS MARKDOWN.

RESULTS holds "KEY VALUE" lines written by the sections (a key measured in
several rounds has several lines). Every figure is set against its baseline
from the same run; a ratio of figures measured in rounds is the median of
the per-round ratios (pairs measured side by side), else the ratio of the
medians. The table goes to stdout and, as markdown, to MARKDOWN.
"""
import statistics
import sys


def load(path):
    res = {}
    with open(path) as f:
        for line in f:
            parts = line.split(None, 1)
            if len(parts) != 2:
                continue
            res.setdefault(parts[0], []).append(parts[1].strip())
    return res


class Results:
    def __init__(self, raw):
        self.raw = raw

    def vals(self, key):
        try:
            return [float(v) for v in self.raw.get(key, [])]
        except ValueError:
            return []

    def med(self, key):
        v = self.vals(key)
        return statistics.median(v) if v else None

    def text(self, key, default="?"):
        v = self.raw.get(key)
        return v[0] if v else default

    def pair_diff(self, a, b):
        """(median, min, max) of per-round differences a - b, same rounds."""
        va, vb = self.vals(a), self.vals(b)
        if not va or len(va) != len(vb):
            return None
        d = [x - y for x, y in zip(va, vb)]
        return statistics.median(d), min(d), max(d)

    def pair_ratio(self, a, b):
        """Median of per-round ratios when both have the same rounds."""
        va, vb = self.vals(a), self.vals(b)
        if not va or not vb:
            return None
        if len(va) == len(vb) and len(va) > 1 and all(vb):
            return statistics.median(x / y for x, y in zip(va, vb))
        ma, mb = statistics.median(va), statistics.median(vb)
        return ma / mb if mb else None


def fmt_ns(v):
    return "n/a" if v is None else f"{v:.0f} ns"


def fmt_rate(v, unit):
    if v is None:
        return "n/a"
    if v >= 1e6:
        return f"{v / 1e6:.2f} M{unit}"
    return f"{v:,.0f} {unit}"


def fmt_ratio(r):
    return "n/a" if r is None else f"{r:.2f}×"


def fmt_time(s):
    if s is None:
        return "n/a"
    return f"{s * 1000:.1f} ms" if s < 10 else f"{s:.1f} s"


def fmt_bytes(b):
    return "n/a" if b is None else f"{b / 1048576:.1f} MiB"


def verdict(value, op, target):
    if value is None:
        return "n/a"
    ok = {"<=": value <= target, ">=": value >= target, "<": value < target,
          ">": value > target}[op]
    return "PASS" if ok else "MISS"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: report.py RESULTS MARKDOWN")
    r = Results(load(sys.argv[1]))
    rows = []  # (figure, portier, baseline, ratio, target, result)

    def row(figure, mine, base, ratio, target="—", result="info"):
        rows.append((figure, mine, base, ratio, target, result))

    def section(title, prefix):
        """A section's heading; False (and a 'not run' row) without its data."""
        rows.append((f"**{title}**", "", "", "", "", ""))
        if any(k.startswith(prefix) for k in r.raw):
            return True
        rows.append(("not run, or failed: see the log", "", "", "", "", ""))
        return False

    # 1. guard cost
    guard = section("Guard cost per packet (XDP, BPF_PROG_TEST_RUN, 1M repeats)", "guard.")
    cases = [("udp_watched", "UDP to a watched port"),
             ("tcp_syn_policed", "TCP SYN to a drop-new port"),
             ("ipv6_ext", "IPv6 + hop-by-hop header, UDP, watched port"),
             ("vlan", "802.1Q VLAN, UDP, watched port"),
             ("from_rule", "UDP matching a --from drop rule"),
             ("udp_drop", "UDP to a drop port")]
    for c, label in (cases if guard else []):
        g, e = r.med(f"guard.{c}.guard"), r.med(f"guard.{c}.empty")
        ratio = r.pair_ratio(f"guard.{c}.guard", f"guard.{c}.empty")
        row(f"{label}: guard vs empty XDP", fmt_ns(g), f"empty {fmt_ns(e)}", fmt_ratio(ratio),
            "≤ 1.50×", verdict(ratio, "<=", 1.5))
    lg, dg = r.med("guard.udp_limited.guard"), r.med("guard.udp_drop.guard")
    if lg is not None:
        row("UDP to a `limit` port over its rate: guard vs UDP to a drop port", fmt_ns(lg),
            f"drop {fmt_ns(dg)}", fmt_ratio(r.pair_ratio("guard.udp_limited.guard",
                                                         "guard.udp_drop.guard")))
    for c, prog, label, op, target in [
            ("udp_drop", "xdpfilter_all", "UDP drop rule: guard vs xdp-filter all-features", "<", 1.0),
            ("tcp_syn_policed", "xdpfilter_all", "TCP port rule: guard vs xdp-filter all-features", "<", 1.0),
            ("udp_drop", "xdpfilter_udp", "UDP drop rule: guard vs xdp-filter UDP-only", "<=", 1.0),
            ("tcp_syn_policed", "xdpfilter_tcp", "TCP port rule: guard vs xdp-filter TCP-only", "<=", 1.0)
            ] if guard else []:
        g, x = r.med(f"guard.{c}.guard"), r.med(f"guard.{c}.{prog}")
        ratio = r.pair_ratio(f"guard.{c}.guard", f"guard.{c}.{prog}")
        row(label, fmt_ns(g), f"xdp-filter {fmt_ns(x)}", fmt_ratio(ratio),
            f"{op.replace('<=', '≤')} {target:.2f}×", verdict(ratio, op, target))
    # the guard's own paths against its plain IPv4 path, in the same rounds
    for c, base, label, target in [
            ("from_rule", "udp_drop", "UDP matching a --from drop rule vs a plain drop port", 1.3),
            ("ipv6_ext", "udp_watched", "IPv6 + hop-by-hop header vs plain IPv4, watched port", 1.2),
            ("vlan", "udp_watched", "802.1Q VLAN vs plain IPv4, watched port", 1.2)
            ] if guard else []:
        g, b = r.med(f"guard.{c}.guard"), r.med(f"guard.{base}.guard")
        ratio = r.pair_ratio(f"guard.{c}.guard", f"guard.{base}.guard")
        row(label, fmt_ns(g), fmt_ns(b), fmt_ratio(ratio), f"≤ {target:.2f}×",
            verdict(ratio, "<=", target))
    # steering: the same kind of port with and without, side by side
    for c, base, label in [
            ("udp_steer_cpu", "udp_steer_none",
             "UDP, steer rule (cpumap redirect) vs the same watched port without"),
            ("udp_xsk_fallback", "udp_bound",
             "UDP bound to an AF_XDP service, no socket (fallback) vs bound to a kernel-socket service")
            ] if guard else []:
        g, b = r.med(f"guard.{c}.guard"), r.med(f"guard.{base}.guard")
        ratio = r.pair_ratio(f"guard.{c}.guard", f"guard.{base}.guard")
        row(label, fmt_ns(g), fmt_ns(b), fmt_ratio(ratio))

    # 2. drop rate
    drop = section("Drop rate, veth between two namespaces (UDP flood to a dropped port)", "drop.")
    d = r.med("drop.portier.pps")
    for base, label, op, target in [("dropall", "XDP drop-everything", ">=", 0.85),
                                     ("xdpfilter_udp", "xdp-filter UDP-only", ">=", 1.0),
                                     ("parse_drop", "a minimal parser (eth, IPv4, UDP, port array)",
                                      None, None),
                                     ("nft_ingress", "nftables netdev ingress", ">=", 5.0),
                                     ("nft_input", "nftables inet input", None, None)
                                     ] if drop else []:
        if not r.vals(f"drop.{base}.pps"):
            continue
        ratio = r.pair_ratio("drop.portier.pps", f"drop.{base}.pps")
        pv, bv = r.vals("drop.portier.pps"), r.vals(f"drop.{base}.pps")
        per = [a / b for a, b in zip(pv, bv) if b] if len(pv) == len(bv) and len(pv) > 1 else []
        spread = f" ({len(per)} rounds: {min(per):.2f}-{max(per):.2f}×)" if per else ""
        row(f"guard `policy udp P drop` vs {label}{spread}", fmt_rate(d, "pps"),
            fmt_rate(r.med(f"drop.{base}.pps"), "pps"), fmt_ratio(ratio),
            f"≥ {target:.2f}×" if op else "—", verdict(ratio, op, target) if op else "info")

    # 2b. rate limits across CPUs
    lim = section("Rate limits across CPUs (veth, UDP flood on two receive queues, both CPUs)",
                  "limit.")
    if lim:
        lv, dv = r.vals("limit.limit.pps"), r.vals("limit.drop.pps")
        ratio = r.pair_ratio("limit.limit.pps", "limit.drop.pps")
        per = [a / b for a, b in zip(lv, dv) if b] if len(lv) == len(dv) else []
        row("`limit 1000` port vs `drop` port: drop rate" +
            (f" (rounds {min(per):.2f}-{max(per):.2f}×)" if per else ""),
            fmt_rate(r.med("limit.limit.pps"), "pps"), fmt_rate(r.med("limit.drop.pps"), "pps"),
            fmt_ratio(ratio), "≥ 0.80×", verdict(ratio, ">=", 0.8))
    for pps in ([1000, 10000, 100000] if lim else []):
        acc = r.vals(f"limit.acc.{pps}.ratio")
        m = statistics.median(acc) if acc else None
        ok = None if m is None else (0.9 <= m <= 1.1)
        row(f"passed rate of `limit {pps:,}` under the flood, after its burst" +
            (f" (rounds {min(acc):.3f}-{max(acc):.3f}×)" if acc else ""),
            fmt_rate(r.med(f"limit.acc.{pps}.pps"), "pps"), fmt_rate(pps, "pps"), fmt_ratio(m),
            "1.00× ± 10 %", "n/a" if ok is None else ("PASS" if ok else "MISS"))

    # 3. dispatch
    disp = section("Dispatch throughput (client and server in one namespace, loopback)",
                   "dispatch.")
    for proto, unit, target in [("tcp", "conn/s", 0.98), ("udp", "req/s", 0.93)] if disp else []:
        b = r.med(f"dispatch.{proto}.binding")
        for base, label, op, t in [("direct", "server bound directly", ">=", target),
                                   ("nft", "nftables REDIRECT", ">", 1.0),
                                   ("socat", "socat proxy", ">", 1.0)]:
            ratio = r.pair_ratio(f"dispatch.{proto}.binding", f"dispatch.{proto}.{base}")
            row(f"{proto.upper()} through a binding vs {label}", fmt_rate(b, unit),
                fmt_rate(r.med(f"dispatch.{proto}.{base}"), unit), fmt_ratio(ratio),
                f"{'≥' if op == '>=' else '>'} {t:.2f}×", verdict(ratio, op, t))

    # 4. lookup: every size interleaved in the same rounds (bench/lookup.sh)
    look = section("Lookup cost per sk_lookup run (BPF_PROG_TEST_RUN, 1M repeats, sizes "
                   "interleaved)", "lookup.sizes")
    sizes = r.text("lookup.sizes", "").split() if look else []
    costs = []
    for n in sizes:
        c, e = r.med(f"lookup.{n}.portier"), r.med(f"lookup.{n}.empty")
        costs.append(c)
        assigned = r.text(f"lookup.{n}.assigned", "0") == "1"
        row(f"{int(n):,} bindings: dispatch vs empty sk_lookup" +
            ("" if assigned or c is None else " (NO SOCKET ASSIGNED)"),
            fmt_ns(c), f"empty {fmt_ns(e)}",
            fmt_ratio(r.pair_ratio(f"lookup.{n}.portier", f"lookup.{n}.empty")),
            "< 60 ns", verdict(c, "<", 60.0) if assigned or c is None else "MISS")
    for n in sizes:
        # the program's own ns: the machine's floor (the empty program,
        # 8 ns on one machine, 35 on another) taken away, round by round
        d = r.pair_diff(f"lookup.{n}.portier", f"lookup.{n}.empty")
        assigned = r.text(f"lookup.{n}.assigned", "0") == "1"
        row(f"{int(n):,} bindings: dispatch minus empty (the program's own)" +
            (f" (rounds {d[1]:.0f}-{d[2]:.0f} ns)" if d else ""),
            fmt_ns(d[0] if d else None), "—", "—", "< 60 ns",
            verdict(d[0] if d else None, "<", 60.0) if assigned else "MISS")
    if len(sizes) > 1 and all(c is not None for c in costs):
        # each size against the first, median of per-round ratios; the
        # flatness is the largest of those against the smallest (the
        # first is 1); the spread is that of the per-round max / min
        rel = [1.0] + [r.pair_ratio(f"lookup.{n}.portier", f"lookup.{sizes[0]}.portier")
                       for n in sizes[1:]]
        flat = max(rel) / min(rel) if all(rel) else None
        per = [max(x) / min(x) for x in zip(*(r.vals(f"lookup.{n}.portier") for n in sizes))
               if min(x) > 0]
        # the same path at every size (bench/lookup.sh records the port's
        # flags), or the flatness would measure something else
        flags = {r.text(f"lookup.{n}.port_flags") for n in sizes}
        row("flatness: slowest vs fastest of " + " / ".join(f"{int(n):,}" for n in sizes) +
            (f" (per-round max / min {min(per):.2f}-{max(per):.2f}×)" if per else "") +
            ("" if len(flags) == 1 else " (PORT FLAGS DIFFER: " +
             " / ".join(r.text(f"lookup.{n}.port_flags") for n in sizes) + ")"),
            fmt_ns(max(costs)), fmt_ns(min(costs)), fmt_ratio(flat), "≤ 1.20×",
            verdict(flat, "<=", 1.2) if len(flags) == 1 else "MISS")
    # DISPATCH_VARIANTS: other builds of the dispatcher, side by side
    skip = {"portier", "empty", "assigned", "bindings", "port_flags"}
    variants = sorted({k.split(".")[-1] for k in r.raw if k.startswith("lookup.")
                       and k.count(".") == 2 and k.split(".")[1] in sizes} - skip)
    for v in variants:
        for pre, what in [("", "socket assigned"), ("nosock.", "no socket")]:
            rat = [r.pair_ratio(f"lookup.{pre}{n}.{v}", f"lookup.{pre}{n}.portier")
                   for n in sizes]
            if any(x is not None for x in rat):
                row(f"variant `{v}` vs dispatch, {what}: " +
                    " / ".join(f"{int(n):,}" for n in sizes) + " bindings",
                    " / ".join(fmt_ns(r.med(f"lookup.{pre}{n}.{v}")) for n in sizes),
                    " / ".join(fmt_ns(r.med(f"lookup.{pre}{n}.portier")) for n in sizes),
                    " / ".join(fmt_ratio(x) for x in rat))
    for n in sizes:
        c, e = r.med(f"lookup.nosock.{n}.portier"), r.med(f"lookup.nosock.{n}.empty")
        if c is not None:
            row(f"bound, service holds no socket: {int(n):,} bindings", fmt_ns(c),
                f"empty {fmt_ns(e)}",
                fmt_ratio(r.pair_ratio(f"lookup.nosock.{n}.portier", f"lookup.nosock.{n}.empty")))
    c, e = r.med("lookup.unbound.portier"), r.med("lookup.unbound.empty")
    if c is not None:
        row(f"unbound port ({int(sizes[-1]):,} bindings)" if sizes else "unbound port",
            fmt_ns(c), f"empty {fmt_ns(e)}",
            fmt_ratio(r.pair_ratio("lookup.unbound.portier", "lookup.unbound.empty")))

    h, a, e = r.med("sock.hash"), r.med("sock.array"), r.med("sock.empty")
    if h is not None and a is not None:
        row("socket step alone: take + assign from a SOCKHASH vs a SOCKMAP (svc_socks)",
            fmt_ns(h), f"SOCKMAP {fmt_ns(a)}", fmt_ratio(h / a if a else None), "—",
            f"info: over empty {fmt_ns(e)}: +{h - e:.0f} vs +{a - e:.0f} ns" if e else "info")

    k24, e = r.med("hostkey.k24"), r.med("hostkey.empty")
    for k, label in [("k12", "a 12-byte IPv4 key"), ("k8", "an 8-byte key"),
                     ("arr", "the same keys in an open-addressing ARRAY (look-up inlined)")]:
        v = r.med(f"hostkey.{k}")
        if k24 is not None and v is not None:
            d24 = r.pair_diff("hostkey.k24", "hostkey.empty")
            dk = r.pair_diff(f"hostkey.{k}", "hostkey.empty")
            row(f"host-binding hash look-up alone, {r.text('hostkey.entries')} entries: "
                f"a HASH with the 24-byte host key (bind_host before ABI 6) vs {label}",
                fmt_ns(k24), fmt_ns(v),
                fmt_ratio(r.pair_ratio("hostkey.k24", f"hostkey.{k}")), "—",
                f"info: over empty: +{d24[0]:.0f} vs +{dk[0]:.0f} ns" if d24 and dk else "info")

    # 4c. CPU steering
    steer = section("CPU steering (cpumap): UDP flood over veth to a socket that does not read, "
                    "datagrams the stack took up to the socket", "steer.")
    n = r.med("steer.none.pps")
    for case, label in [("same", "`steer udp P cpus 1`, the NAPI's own CPU (the cpumap's cost)"),
                        ("other", "`steer udp P cpus 0`, the generator's CPU (2 vCPUs: no free one)")
                        ] if steer else []:
        ratio = r.pair_ratio(f"steer.{case}.pps", "steer.none.pps")
        row(f"{label} vs no steer rule", fmt_rate(r.med(f"steer.{case}.pps"), "pps"),
            f"none {fmt_rate(n, 'pps')}", fmt_ratio(ratio), "—", "info")

    # 4b. the largest binding table
    sc = section("The largest binding table (`bench/scale.sh`)", "scale.")
    n = r.med("scale.bindings")
    if sc and n:
        c, e = r.med("lookup.max.portier"), r.med("lookup.max.empty")
        assigned = r.text("lookup.max.assigned", "0") == "1"
        row(f"{n:,.0f} bindings: dispatch vs empty sk_lookup" +
            ("" if assigned or c is None else " (NO SOCKET ASSIGNED)"),
            fmt_ns(c), f"empty {fmt_ns(e)}", fmt_ratio(c / e if c and e else None),
            "< 60 ns", verdict(c, "<", 60.0) if assigned or c is None else "MISS")
        allc = [x for x in costs + [c] if x is not None]
        if len(allc) > 1:
            # a separate run from the lookup section's: its flatness row
            # (sizes interleaved) is the measure; this one is a check
            flat = max(allc) / min(allc)
            row("slowest vs fastest of " + " / ".join(f"{int(x):,}" for x in sizes) +
                f" / {n:,.0f} (separate runs, not interleaved)",
                fmt_ns(max(allc)), fmt_ns(min(allc)), fmt_ratio(flat))
        a = r.med("scale.apply.ms")
        rate = n / (a / 1000) if a else None
        row(f"`apply` of {n:,.0f} bindings ({fmt_time(a / 1000 if a else None)})",
            fmt_rate(rate, "/s"), "—", "—", "≥ 300,000/s", verdict(rate, ">=", 300000))
        for k, label in [("remove", f"`apply` removing all {n:,.0f}"),
                         ("unload", f"`unload` with {n:,.0f} in place")]:
            t = r.med(f"scale.{k}.ms")
            row(label, fmt_time(t / 1000 if t is not None else None), "—", "—", "< 5 s",
                verdict(t, "<", 5000.0))
        st = r.med("scale.stalls")
        row("soft lockups and RCU stalls in the kernel log during the section",
            "n/a" if st is None else f"{st:.0f}", "—", "—", "0",
            "n/a" if st is None else ("PASS" if st == 0 else "MISS"))
        mb, me = r.med("scale.map_bytes"), r.med("scale.map_bytes_empty")
        cap = r.med("scale.capacity")
        if me is not None and cap:
            row(f"map memory loaded with room for {cap:,.0f} bindings (`load --max-bindings`), "
                "before any, this host (`status`)", fmt_bytes(me), "—", "—")
        if mb is not None:
            row(f"map memory with {n:,.0f} bindings, this host (`status`)", fmt_bytes(mb),
                "—", "—")

    # 5. control plane
    ctl = section("Control plane", "control.")
    t, n = r.med("control.apply.seconds"), r.med("control.apply.bindings")
    rate = n / t if t and n else None
    if ctl:
        row(f"`apply`: bindings added per second ({int(n or 0):,} bindings, {fmt_time(t)})",
            fmt_rate(rate, "/s"), "—", "—", "≥ 100,000/s", verdict(rate, ">=", 100000))
    b1 = r.med("control.bind1.seconds")
    if b1 is not None:
        row("one `bind` with 100,000 bindings in place vs `apply` of all 100,000",
            fmt_time(b1), fmt_time(t), fmt_ratio(b1 / t if t else None))
    s, st = r.med("control.stats.seconds"), r.med("control.status.seconds")
    if s is not None:
        ports = r.text("control.stats.ports", "?")
        row(f"`stats --json`, {ports} watched ports vs `status --json`", fmt_time(s), fmt_time(st),
            fmt_ratio(s / st if st else None))
    mb, ncpu = r.med("mem.map_bytes"), r.med("mem.possible_cpus")
    if mb is not None and ncpu:
        # port_stats (PT_MAX_SLOTS) and global_stats, per possible CPU (bench/control.sh)
        per_cpu = int(r.med("mem.per_cpu_bytes") or (72 * 9216 + 40))
        fixed = mb - per_cpu * ncpu
        memlock = sum(float(v[0]) for k, v in r.raw.items() if k.startswith("mem.map."))
        row(f"map memory at 8,192 watched ports, {ncpu:.0f} CPUs (`status`; bpftool sum "
            f"{fmt_bytes(memlock)})", fmt_bytes(mb), "—", "—")
        at64 = fixed + per_cpu * 64
        row(f"map memory at 64 CPUs: {fixed:,.0f} B + {per_cpu:,} B × N CPUs",
            fmt_bytes(at64), "—", "—", "< 64 MiB", verdict(at64, "<", 64 * 1048576))

    # 6. AF_XDP echo
    if section("AF_XDP service: UDP echo over a veth (generator flood, copy mode: veth has no "
               "zero-copy)", "xsk."):
        x, k = r.med("xsk.xsk.rps"), r.med("xsk.kernel.rps")
        ratio = r.pair_ratio("xsk.xsk.rps", "xsk.kernel.rps")
        row("replies/s: build/xsk-echo on AF_XDP (register --xsk, copy mode) vs a kernel UDP "
            "echo server (recvmmsg/sendmmsg, 64)", fmt_rate(x, "/s"), fmt_rate(k, "/s"),
            fmt_ratio(ratio), "≥ 2.00×", verdict(ratio, ">=", 2.0))

    head = ("| Figure | portier | Baseline | Ratio | Target | Result |\n"
            "|---|---|---|---|---|---|\n")
    body = "".join(f"| {' | '.join(x)} |\n" for x in rows)
    cpu = r.text("meta.cpu").replace("_", " ")
    meta = (f"Measured {r.text('meta.date')} on {cpu}, {r.text('meta.ncpu')} CPUs, "
            f"kernel {r.text('meta.kernel')}, in {r.text('meta.seconds')} s"
            + (" (BENCH_QUICK: fewer rounds)" if r.text("meta.quick", "0") == "1" else "") + ".\n")
    counts = {}
    for x in rows:
        if x[5] in ("PASS", "MISS"):
            counts[x[5]] = counts.get(x[5], 0) + 1
    summary = f"\n{counts.get('PASS', 0)} targets met, {counts.get('MISS', 0)} missed.\n"
    md = meta + "\n" + head + body + summary
    with open(sys.argv[2], "w") as f:
        f.write(md)
    print()
    print(md, end="")


if __name__ == "__main__":
    main()
