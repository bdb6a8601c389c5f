// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * udpecho: the kernel-socket baseline of the AF_XDP echo benchmark. One
 * unconnected UDP socket; datagrams are taken in batches with recvmmsg and
 * sent back to their sources with sendmmsg, as fast as the socket gives
 * them. Runs until SIGTERM or SIGINT, then prints "received N" and
 * "replied N".
 *
 *   udpecho ADDR PORT [--batch N] [--ready FILE]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#define MAX_BATCH 256
#define BUF_SIZE 2048

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: udpecho ADDR PORT [--batch N] [--ready FILE]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static char bufs[MAX_BATCH][BUF_SIZE];
	static struct sockaddr_storage peers[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	static struct mmsghdr msgs[MAX_BATCH];
	struct sockaddr_storage ss = {};
	struct sigaction sa = { .sa_handler = on_signal };
	struct timeval tv = { .tv_usec = 100000 };
	unsigned long long received = 0, replied = 0;
	const char *ready = NULL;
	unsigned int batch = 64;
	socklen_t slen;
	long port;
	int fd, rcvbuf = 8 << 20;

	if (argc < 3)
		return usage();
	port = strtol(argv[2], NULL, 10);
	if (port < 1 || port > 65535)
		return usage();
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
			batch = (unsigned int)strtoul(argv[++i], NULL, 10);
			if (!batch || batch > MAX_BATCH)
				return usage();
		} else if (!strcmp(argv[i], "--ready") && i + 1 < argc) {
			ready = argv[++i];
		} else {
			return usage();
		}
	}
	if (strchr(argv[1], ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, argv[1], &s6->sin6_addr) != 1)
			return usage();
		slen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, argv[1], &s4->sin_addr) != 1)
			return usage();
		slen = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, slen)) {
		perror("udpecho: socket");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* a bounded wait, so that a signal is seen */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f)
			fclose(f);
	}
	while (!stop) {
		int n, sent;

		for (unsigned int i = 0; i < batch; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = BUF_SIZE;
			msgs[i].msg_hdr = (struct msghdr){
				.msg_name = &peers[i], .msg_namelen = sizeof(peers[i]),
				.msg_iov = &iov[i], .msg_iovlen = 1,
			};
		}
		n = recvmmsg(fd, msgs, batch, MSG_WAITFORONE, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				perror("udpecho: recvmmsg");
				break;
			}
			continue;
		}
		received += (unsigned int)n;
		/* each reply: the datagram back to where it came from */
		for (int i = 0; i < n; i++)
			iov[i].iov_len = msgs[i].msg_len;
		sent = sendmmsg(fd, msgs, (unsigned int)n, MSG_DONTWAIT);
		if (sent > 0)
			replied += (unsigned int)sent;
	}
	printf("received %llu\nreplied %llu\n", received, replied);
	close(fd);
	return 0;
}
