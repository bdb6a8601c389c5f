#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# deploy/kubernetes/ and docs/FLEET.md say the same thing: every manifest
# parses as YAML (Debian's python3-yaml), and the DaemonSet holds what the
# page claims (its container table: args, capabilities, mounts; hostNetwork,
# hostPID, the /sys/fs/bpf hostPath, the ConfigMap as a directory, the
# exporter's port), the Service and PodMonitor select the DaemonSet's pods
# on that port, and the ConfigMap's file is one portier applies. No cluster
# is reachable here: nothing is applied to one, and the output says so.
. "$(dirname "$0")/lib.sh"

K8S=$E2E_ROOT/deploy/kubernetes

# The checks, in Python: one "FAIL: why" line per broken claim.
CHECK='
import re, sys, yaml
k8s, fleet, out = sys.argv[1], sys.argv[2], sys.argv[3]
bad = []
def check(ok, why):
    if not ok:
        bad.append(why)
docs = {}
for name in ["namespace", "configmap", "daemonset", "service", "podmonitor", "kustomization", "example-service"]:
    with open("%s/%s.yaml" % (k8s, name)) as f:
        d = list(yaml.safe_load_all(f))
    check(len(d) == 1, "%s.yaml: %d documents, expected 1" % (name, len(d)))
    docs[name] = d[0]
ds, svc, pm, cm, ex = docs["daemonset"], docs["service"], docs["podmonitor"], docs["configmap"], docs["example-service"]
check(ds["kind"] == "DaemonSet" and ds["apiVersion"] == "apps/v1", "daemonset.yaml is no apps/v1 DaemonSet")
check(sorted(docs["kustomization"]["resources"]) == sorted(n + ".yaml" for n in ["namespace", "configmap", "daemonset", "service", "podmonitor"]), "kustomization resources")
pod = ds["spec"]["template"]["spec"]
labels = ds["spec"]["template"]["metadata"]["labels"]
check(ds["spec"]["selector"]["matchLabels"].items() <= labels.items(), "the DaemonSet selects its own pods")
check(pod.get("hostNetwork") is True, "hostNetwork is not true")
check(pod.get("hostPID") is True, "hostPID is not true")
vols = {v["name"]: v for v in pod["volumes"]}
bpffs = [n for n, v in vols.items() if v.get("hostPath", {}).get("path") == "/sys/fs/bpf"]
check(len(bpffs) == 1 and vols[bpffs[0]]["hostPath"].get("type") == "Directory", "one hostPath /sys/fs/bpf of type Directory")
cmvol = [n for n, v in vols.items() if v.get("configMap", {}).get("name") == cm["metadata"]["name"]]
check(len(cmvol) == 1, "the ConfigMap %s is a volume" % cm["metadata"]["name"])
check(cm["metadata"]["namespace"] == ds["metadata"]["namespace"] == svc["metadata"]["namespace"] == pm["metadata"]["namespace"] == docs["namespace"]["metadata"]["name"], "one namespace for all")
# the table of docs/FLEET.md: | `name` (init)? | `args` | `CAP`, ... | `mount` (...), ... |
rows = {}
for line in open(fleet):
    m = re.match(r"^\| `([a-z]+)`( \(init\))? \| `([^`]*)` \| (.*?) \| (.*?) \|$", line)
    if m:
        rows[m.group(1)] = (bool(m.group(2)), m.group(3), re.findall(r"`([A-Z_]+)`", m.group(4)), re.findall(r"`(/[^`]*)`", m.group(5)))
check(sorted(rows) == ["agent", "exporter", "load"], "docs/FLEET.md container table rows: %s" % sorted(rows))
ctrs = [(True, c) for c in pod.get("initContainers", [])] + [(False, c) for c in pod["containers"]]
check(sorted(c["name"] for _, c in ctrs) == sorted(rows), "containers %s vs FLEET.md %s" % (sorted(c["name"] for _, c in ctrs), sorted(rows)))
for init, c in ctrs:
    n = c["name"]
    if n not in rows:
        continue
    rinit, rargs, rcaps, rmounts = rows[n]
    sc = c.get("securityContext", {})
    check(init == rinit, "%s: init container or not, as FLEET.md says" % n)
    check(" ".join(c["args"]) == rargs, "%s: args %s, FLEET.md says %s" % (n, c["args"], rargs))
    check(sorted(sc.get("capabilities", {}).get("add", [])) == sorted(rcaps), "%s: capabilities %s, FLEET.md says %s" % (n, sc.get("capabilities", {}).get("add"), rcaps))
    check(sc.get("capabilities", {}).get("drop") == ["ALL"], "%s: does not drop ALL" % n)
    check(sc.get("privileged") is False and sc.get("allowPrivilegeEscalation") is False, "%s: privileged or escalation" % n)
    check(sc.get("readOnlyRootFilesystem") is True, "%s: root filesystem writable" % n)
    mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
    check(sorted(mounts) == sorted(rmounts), "%s: mounts %s, FLEET.md says %s" % (n, sorted(mounts), rmounts))
    check(mounts.get("/sys/fs/bpf", {}).get("name") in bpffs, "%s: /sys/fs/bpf is not the hostPath" % n)
    for m in mounts.values():
        check("subPath" not in m, "%s: a subPath mount is never updated" % n)
    if "/etc/portier" in mounts:
        check(mounts["/etc/portier"]["name"] in cmvol and mounts["/etc/portier"].get("readOnly") is True, "%s: /etc/portier is not the ConfigMap, read-only" % n)
        check(c["args"][-1].startswith("/etc/portier/") and c["args"][-1][len("/etc/portier/"):] in cm["data"], "%s: watches a key the ConfigMap does not have" % n)
    check(c["image"] == pod["containers"][0]["image"], "%s: another image" % n)
# the exporter: listens on the node address, on the port named metrics
exp = [c for _, c in ctrs if c["name"] == "exporter"][0]
ports = {p["name"]: p for p in exp.get("ports", [])}
check(ports.get("metrics", {}).get("containerPort") == 9469, "exporter port metrics is not 9469")
check(exp["args"][-1] == "$(NODE_IP):9469", "exporter does not listen on $(NODE_IP):9469")
check(any(e["name"] == "NODE_IP" and e["valueFrom"]["fieldRef"]["fieldPath"] == "status.hostIP" for e in exp.get("env", [])), "NODE_IP is not status.hostIP")
check("9469" in open(fleet).read(), "FLEET.md does not name port 9469")
# the Service and the PodMonitor reach it
check(svc["spec"]["selector"].items() <= labels.items(), "the Service does not select the pods")
check(any(p["port"] == 9469 and p["targetPort"] == "metrics" for p in svc["spec"]["ports"]), "Service port 9469 -> metrics")
check(pm["kind"] == "PodMonitor" and pm["apiVersion"] == "monitoring.coreos.com/v1", "podmonitor.yaml kind")
check(pm["spec"]["selector"]["matchLabels"].items() <= labels.items(), "the PodMonitor does not select the pods")
check(any(e["port"] == "metrics" and e.get("path", "/metrics") == "/metrics" for e in pm["spec"]["podMetricsEndpoints"]), "PodMonitor endpoint")
# the example: hostNetwork, the bpffs, register from postStart through the image volume
check(ex["spec"].get("hostNetwork") is True, "example: hostNetwork")
xc = ex["spec"]["containers"][0]
cmd = xc["lifecycle"]["postStart"]["exec"]["command"]
check(cmd[3:6] == ["/opt/portier/usr/sbin/portier", "register", "irene"] and "--pid" in cmd and cmd[cmd.index("--pid") + 1] == "1", "example: postStart register --pid 1")
check(sorted(xc["securityContext"]["capabilities"]["add"]) == ["BPF", "NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"], "example: capabilities")
check(any(v.get("image") for v in ex["spec"]["volumes"]), "example: the portier image volume")
with open(out + "/loader", "w") as f:
    f.write("\n".join(cmd[:4]) + "\n")
with open(out + "/portier.conf", "w") as f:
    f.write(cm["data"]["portier.conf"])
for b in bad:
    print("FAIL: " + b)
'

case_manifests_parse_and_hold_what_fleet_md_says() {
	local tmp out ld libdir bin libs
	casetmp tmp
	out=$(/usr/bin/python3 -c "$CHECK" "$K8S" "$E2E_ROOT/docs/FLEET.md" "$tmp" 2>&1) ||
		{ fail "the check did not run: $out"; return 1; }
	[ -z "$out" ] || { fail "$(tr '\n' ';' <<<"$out")"; return 1; }
	echo "# no Kubernetes cluster is reachable here: the manifests are parsed and checked, not applied"
	# the example's loader and library paths are the image's (ldd's)
	ld=$(sed -n 1p "$tmp/loader")
	libdir=$(sed -n 3p "$tmp/loader")
	bin=$(sed -n 4p "$tmp/loader")
	expect_eq "${bin#/opt/portier}" /usr/sbin/portier "the binary's path in the image"
	libs=$(ldd "$PORTIER")
	grep -q "^[[:space:]]*${ld#/opt/portier} " <<<"$libs" || fail "the image's loader is not ${ld#/opt/portier}"
	grep -q "=> ${libdir#/opt/portier}/libbpf" <<<"$libs" || fail "libbpf is not in ${libdir#/opt/portier}"
	# started that way, portier runs (the loader of this machine, these libraries)
	expect_eq "$("${ld#/opt/portier}" --library-path "${libdir#/opt/portier}" "$PORTIER" version)" \
		"$("$PORTIER" version)" "portier through the loader, as the example starts it"
}

case_configmap_is_a_config_portier_applies() {
	local tmp ns
	casetmp tmp
	/usr/bin/python3 -c "$CHECK" "$K8S" "$E2E_ROOT/docs/FLEET.md" "$tmp" >/dev/null
	newns ns cm
	pt "$ns" load >/dev/null
	expect_eq "$(pt "$ns" apply --check "$tmp/portier.conf")" \
		"checked $tmp/portier.conf: bindings +5 -0 ~0, policies +1 -0 ~0, watches +0 -0, services +5" \
		"apply --check of the ConfigMap's file"
	pt "$ns" apply "$tmp/portier.conf" >/dev/null 2>&1
	expect_json "$ns" .config_sha256 "$(sha256sum <"$tmp/portier.conf" | cut -d' ' -f1)" status
	expect_json "$ns" .config.in_sync true status
}

case_systemd_units_verify() {
	local tmp out
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
	casetmp tmp
	make -s -C "$E2E_ROOT" install DESTDIR="$tmp" PREFIX=/usr >/dev/null
	out=$(SYSTEMD_UNIT_PATH="$tmp/usr/lib/systemd/system:" systemd-analyze verify --man=no \
		"$tmp/usr/lib/systemd/system/portier-watch.service" 2>&1 | grep -v "^$" |
		grep -v 'is not executable: No such file\|Command .* is not executable' || true)
	expect_eq "$out" "" "systemd-analyze verify portier-watch.service"
	grep -qx 'Requires=portier.service' "$tmp/usr/lib/systemd/system/portier-watch.service" ||
		fail "portier-watch.service does not require portier.service"
}

run_cases
