// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * portier: a kernel-accelerated port dispatcher.
 * portier [--netns NAME|PATH] [--json] [--debug] COMMAND [ARGS]
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include "cmd.h"
#include "xdp.h"

const char *pt_netns;

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct pt_cmd cmds[] = {
	{ "load", cmd_load,
	  "load [--xdp IFACE]... [--xdp-mode auto|native|skb] [--force] [--max-bindings N]", true },
	{ "unload", cmd_unload, "unload", true },
	{ "status", cmd_status, "status", true },
	{ "service", cmd_service, "service { add SERVICE [--desc TEXT] | del SERVICE }", true },
	{ "register", cmd_register,
	  "register SERVICE { { --pid PID | --fd N } [--proto tcp|udp] [--addr ADDR:PORT | --all] | "
	  "--pid PID --xsk [--ifname IF] [--queue Q] }", true },
	{ "unregister", cmd_unregister, "unregister SERVICE [--proto tcp|udp]", true },
	{ "services", cmd_services, "services", true },
	{ "bind", cmd_bind, "bind { tcp | udp } PREFIX PORTS SERVICE", true },
	{ "unbind", cmd_bind, "unbind { tcp | udp } PREFIX PORTS", true },
	{ "bindings", cmd_bindings, "bindings", true },
	{ "policy", cmd_policy,
	  "policy { tcp | udp } PORTS { allow | drop | drop-new | limit PPS } [--from PREFIX]", true },
	{ "unpolicy", cmd_policy, "unpolicy { tcp | udp } PORTS [--from PREFIX]", true },
	{ "policies", cmd_policies, "policies", true },
	{ "watch", cmd_watch, "watch { tcp | udp } PORTS", true },
	{ "unwatch", cmd_watch, "unwatch { tcp | udp } PORTS", true },
	{ "steer", cmd_steer, "steer { tcp | udp } PORTS cpus LIST", true },
	{ "unsteer", cmd_steer, "unsteer { tcp | udp } PORTS", true },
	{ "steers", cmd_steers, "steers", true },
	{ "stats", cmd_stats,
	  "stats [--proto tcp|udp] [--port N] [--service SERVICE] [--exact]", true },
	{ "top", cmd_top, "top [--interval SECONDS]", true },
	{ "exporter", cmd_exporter, "exporter [--listen ADDR:PORT]", true },
	{ "explain", cmd_explain, "explain { tcp | udp } ADDR:PORT [--from ADDR[:PORT]]", true },
	{ "apply", cmd_apply, "apply [--check | --watch [--debounce MS]] FILE", true },
	{ "dump", cmd_dump, "dump", true },
	{ "version", cmd_version, "version", false },
	{ "help", cmd_help, "help", false },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

const char *pt_cmd_usage(const char *cmd)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, cmd))
			return cmds[i].usage;
	return NULL;
}

int pt_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	const char *usage = pt_cmd_usage(cmd);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (usage)
		return pt_bad("%s: %s (usage: portier %s)", cmd, msg, usage);
	return pt_bad("%s: %s", cmd, msg);
}

int pt_check_positional(const char *cmd, int argc, char **argv, int want_min, int want_max)
{
	int n = argc - optind;

	if (n < want_min)
		return pt_usage_error(cmd, "missing arguments");
	if (n > want_max)
		return pt_usage_error(cmd, "unexpected argument '%s'", argv[optind + want_max]);
	return 0;
}

int pt_no_args(const char *cmd, int argc, char **argv)
{
	static const struct option none[] = { {} };

	opterr = 0;
	if (getopt_long(argc, argv, "", none, NULL) != -1)
		return pt_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
	return pt_check_positional(cmd, argc, argv, 0, 0);
}

void pt_json_print(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: portier [--netns NAME|PATH] [--json] [--debug] COMMAND [ARGS]\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  %s\n", cmds[i].usage);
	fprintf(f, "\nPORTS is N or LO-HI (0-65535); PREFIX is an IPv4 or IPv6 CIDR, a bare\n"
		   "address, or any; a service name is 1-31 characters of [a-z0-9_.-].\n"
		   "Exit status: 0 success, 1 operation failed, 2 bad usage or input.\n");
}

static int cmd_help(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	if (pt_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "version", json_object_new_string(PORTIER_VERSION));
		json_object_object_add(o, "abi", json_object_new_int(PT_ABI_VERSION));
		pt_json_print(o);
		json_object_put(o);
		return 0;
	}
	printf("portier %s (abi %d)\n", PORTIER_VERSION, PT_ABI_VERSION);
	return 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!pt_debug)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* The capabilities a privileged command needs, checked up front so a
 * non-root user gets one clear line instead of a string of EPERMs. */
static int check_caps(const char *cmd)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	static const int need[] = { CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN };

	if (syscall(SYS_capget, &hdr, data))
		return 0;	/* cannot tell: let the kernel decide */
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		int c = need[i];

		if (!(data[c / 32].effective & (1u << (c % 32))))
			return pt_fail("%s: permission denied: portier needs root "
				       "(CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN; "
				       "register --pid also CAP_SYS_PTRACE)", cmd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	const char *name;
	int c, err;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+n:jdhV", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			pt_netns = optarg;
			break;
		case 'j':
			pt_json = true;
			break;
		case 'd':
			pt_debug = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			return cmd_version(0, NULL);
		default:
			return pt_bad("unknown option '%s' (see portier help)", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return pt_bad("missing COMMAND (see portier help)");
	libbpf_set_print(libbpf_print);
	pt_xdp_init();
	name = argv[optind];
	for (size_t i = 0; i < NCMDS; i++) {
		if (strcmp(cmds[i].name, name))
			continue;
		if (cmds[i].privileged) {
			err = check_caps(name);
			if (err)
				return err;
		}
		/* handlers see argv[0] = the command and parse the rest */
		int first = optind, ret;

		optind = 0;
		ret = cmds[i].fn(argc - first, &argv[first]);
		/* output that could not be written is a failure, said once */
		if (fflush(stdout) || ferror(stdout)) {
			int e = errno;

			if (!ret)
				ret = pt_fail("%s: writing the output: %s", name, strerror(e ? e : EIO));
		}
		return ret;
	}
	return pt_bad("unknown command '%s' (see portier help)", name);
}
