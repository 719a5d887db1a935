/*
 * The floor of open-loop sending on this machine: the least an open-loop generator can do per request, in C.
 * One keep-alive connection; request i is due at start + i/rate; sleep until then (clock_nanosleep, absolute,
 * timer slack 1 ns), send, block on the response until its body is read, repeat. No pacer, no bookkeeping, no
 * report: what is left is the two wake-ups per request (the response, the due time) that any open-loop sender
 * pays where wrk's closed loop pays one. bench/loadgen-cost.ts builds and runs it next to wrk and ours.
 * Usage: open-loop-floor <host> <port> <path> <rate> <seconds>; prints one line of key=value figures.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Reads one response: the head up to the blank line, then Content-Length bytes of body. 0 on success. */
static int read_response(int fd, char *buf, size_t cap) {
  size_t have = 0;
  long body = -1;
  size_t head_end = 0;
  for (;;) {
    if (have == cap) return -1;
    ssize_t n = recv(fd, buf + have, cap - have, 0);
    if (n <= 0) return -1;
    have += (size_t)n;
    if (body < 0) {
      char *end = memmem(buf, have, "\r\n\r\n", 4);
      if (end == NULL) continue;
      head_end = (size_t)(end - buf) + 4;
      char *cl = strcasestr(buf, "\r\ncontent-length:");
      if (cl == NULL || cl > end) return -1;
      body = strtol(cl + 17, NULL, 10);
    }
    if (have >= head_end + (size_t)body) {
      if (have > head_end + (size_t)body) return -1; /* one request at a time: nothing may follow */
      return 0;
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s <host> <port> <path> <rate> <seconds>\n", argv[0]);
    return 2;
  }
  double rate = atof(argv[4]);
  double seconds = atof(argv[5]);
  prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
  inet_pton(AF_INET, argv[1], &addr.sin_addr);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    perror("connect");
    return 1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char request[512];
  int len = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: %s:%s\r\n\r\n", argv[3], argv[1], argv[2]);
  static char buf[1 << 20];
  long total = (long)(rate * seconds);
  long ok = 0;
  struct rusage before, after;
  getrusage(RUSAGE_SELF, &before);
  long long start = now_ns() + 1000000;
  long long late_sum = 0;
  for (long i = 0; i < total; i++) {
    long long due = start + (long long)(i * 1e9 / rate);
    struct timespec at = {.tv_sec = due / 1000000000LL, .tv_nsec = due % 1000000000LL};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) != 0) {
    }
    late_sum += now_ns() - due;
    if (send(fd, request, (size_t)len, 0) != len) break;
    if (read_response(fd, buf, sizeof buf) != 0) break;
    ok++;
  }
  getrusage(RUSAGE_SELF, &after);
  double cpu = (double)(after.ru_utime.tv_sec - before.ru_utime.tv_sec + after.ru_stime.tv_sec -
                        before.ru_stime.tv_sec) +
               (double)(after.ru_utime.tv_usec - before.ru_utime.tv_usec + after.ru_stime.tv_usec -
                        before.ru_stime.tv_usec) /
                   1e6;
  printf("requests=%ld ok=%ld cpu_seconds=%.6f mean_wake_late_us=%.1f\n", total, ok, cpu,
         ok > 0 ? (double)late_sum / (double)ok / 1e3 : 0.0);
  return ok == total ? 0 : 1;
}
