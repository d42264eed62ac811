/* The running check: its details, its reason, its kernel log window, and the lines it sends. */
#include "esbcheck.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct check_state C;

/* for values spliced into step()'s format: the inside of a JSON string, in one of four rotating buffers */
const char *esc(const char *s) {
  static char bufs[4][2048];
  static int k;
  char *o = bufs[k++ & 3];
  struct jb b = {0};
  if (s) jb_escn(&b, s, strlen(s));
  snprintf(o, sizeof bufs[0], "%s", b.s ? b.s : "");
  free(b.s);
  return o;
}

static void det_sep(void) { if (C.det.n) jb_put(&C.det, ",", 1); }
void det_int(const char *k, long long v) { det_sep(); jb_str(&C.det, k); jb_printf(&C.det, ":%lld", v); }
void det_num(const char *k, double v) { det_sep(); jb_str(&C.det, k); jb_printf(&C.det, ":%.1f", v); }
void det_str(const char *k, const char *v) { det_sep(); jb_str(&C.det, k); jb_put(&C.det, ":", 1); jb_str(&C.det, v); }
void det_raw(const char *k, const char *json) { det_sep(); jb_str(&C.det, k); jb_put(&C.det, ":", 1); jb_put(&C.det, json, strlen(json)); }

static void add_reason(const char *fmt, va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(C.reason);
  if (n + strlen(msg) + 3 < sizeof C.reason) snprintf(C.reason + n, sizeof C.reason - n, "%s%s", n ? "; " : "", msg);
}

/* A failure: the first few are the reason, all are counted. */
void fail(const char *fmt, ...) {
  va_list ap;
  if (C.failures < 4) { va_start(ap, fmt); add_reason(fmt, ap); va_end(ap); }
  else if (C.failures == 4) { size_t n = strlen(C.reason); if (n + 8 < sizeof C.reason) strcat(C.reason, "; ..."); }
  C.failures++;
}

void not_applicable(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt); add_reason(fmt, ap); va_end(ap);
  C.na = 1;
}

void tool_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt); add_reason(fmt, ap); va_end(ap);
  C.tool_errors++;
}

void finding(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt); add_reason(fmt, ap); va_end(ap);
  C.finding = 1;
}

/* A broken guarantee outweighs everything; a check that could not judge
   says so before it says "not applicable", and a finding is only a finding
   when nothing failed. */
const char *verdict_of(int failures, int tool_errors, int na, int finding) {
  return failures ? "fail" : tool_errors ? "error" : na ? "na" : finding ? "finding" : "pass";
}

void summary(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt); vsnprintf(C.summary, sizeof C.summary, fmt, ap); va_end(ap);
}

void step(const char *what, const char *fmt, ...) {
  struct jb b = {0};
  jb_printf(&b, "{\"t\":\"check-step\",\"check\":");
  jb_str(&b, C.name);
  jb_printf(&b, ",\"step\":");
  jb_str(&b, what);
  jb_printf(&b, ",\"ms\":%.0f", now_ms() - C.t0);
  if (fmt) {
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt); vsnprintf(tmp, sizeof tmp, fmt, ap); va_end(ap);
    jb_put(&b, ",", 1); jb_put(&b, tmp, strlen(tmp));
  }
  jb_put(&b, "}", 1);
  jb_emit(&b);
}

/* /dev/kmsg from the check's start: kernel splats fail the check, erofs lines are kept. */
static void kmsg_open(void) {
  C.kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
  if (C.kmsg >= 0) lseek(C.kmsg, 0, SEEK_END);
}

int kmsg_next(int fd, char *msg, size_t cap) {
  char rec[8192];
  for (;;) {
    ssize_t r = read(fd, rec, sizeof rec - 1);
    if (r < 0 && errno == EPIPE) continue; /* records overwritten: go on */
    if (r <= 0) return 0;
    rec[r] = 0;
    char *m = strchr(rec, ';');
    m = m ? m + 1 : rec;
    char *nl = strchr(m, '\n');
    if (nl) *nl = 0;
    snprintf(msg, cap, "%s", m);
    return 1;
  }
}

int kmsg_is_splat(const char *msg) {
  return !!(strstr(msg, "WARNING:") || strstr(msg, "BUG:") || strstr(msg, "Oops") || strstr(msg, "general protection")
            || strstr(msg, "kernel BUG") || strstr(msg, "Busy inodes") || strstr(msg, "cannot create duplicate filename")
            || strstr(msg, "Call Trace"));
}

void kmsg_collect(void) {
  struct jb lines = {0};
  int n = 0, splat = 0;
  char msg[8192], first[256] = "";
  if (C.kmsg < 0) { det_str("kmsg", "unavailable"); return; }
  while (kmsg_next(C.kmsg, msg, sizeof msg)) {
    int bad = kmsg_is_splat(msg);
    if (bad && !splat) { splat = 1; snprintf(first, sizeof first, "%.200s", msg); }
    /* every mount logs these: they would crowd out the lines worth reading */
    int routine = strstr(msg, "mounted with root inode") || strstr(msg, "EXPERIMENTAL EROFS page cache share");
    if ((bad || (!routine && (strstr(msg, "erofs") || strstr(msg, "overlay"))) || strstr(msg, "oom") || strstr(msg, "Killed")) && n < 40) {
      if (n++) jb_put(&lines, ",", 1);
      jb_str(&lines, msg);
    }
  }
  close(C.kmsg);
  C.kmsg = -1;
  det_sep();
  jb_str(&C.det, "kmsg");
  jb_put(&C.det, ":[", 2);
  if (lines.n) jb_put(&C.det, lines.s, lines.n);
  jb_put(&C.det, "]", 1);
  free(lines.s);
  if (splat) fail("kernel log: %s", first);
}

void check_begin(const char *name, const char *proves) {
  memset(&C, 0, sizeof C);
  C.name = name; C.proves = proves; C.t0 = now_ms();
  kmsg_open();
  kmemleak_begin();
  arm_fatal_sigbus();
  struct jb b = {0};
  jb_printf(&b, "{\"t\":\"check-begin\",\"name\":");
  jb_str(&b, name);
  jb_printf(&b, ",\"proves\":");
  jb_str(&b, proves);
  jb_printf(&b, ",\"up\":%.0f}", up_ms());
  jb_emit(&b);
}

/* One result line. */
void check_result(const char *name, const char *proves, const char *result, const char *reason) {
  struct jb b = {0};
  jb_printf(&b, "{\"t\":\"check\",\"name\":");
  jb_str(&b, name);
  jb_printf(&b, ",\"result\":\"%s\",\"reason\":", result);
  jb_str(&b, reason);
  jb_printf(&b, ",\"proves\":");
  jb_str(&b, proves);
  jb_printf(&b, ",\"ms\":%.0f,\"up\":%.0f,\"details\":{", now_ms() - C.t0, up_ms());
  if (C.det.n) jb_put(&b, C.det.s, C.det.n);
  jb_put(&b, "}}", 2);
  jb_emit(&b);
}

int check_end(void) {
  kmemleak_judge();
  kmsg_collect();
  const char *result = verdict_of(C.failures, C.tool_errors, C.na, C.finding);
  const char *pass = C.summary[0] ? C.summary : "all verified";
  check_result(C.name, C.proves, result, C.reason[0] ? C.reason : (C.failures ? "failed" : pass));
  return C.failures ? 1 : 0;
}

/*
 * A SIGBUS outside a guarded access (see guarded() in files.c) is a page of a
 * mapped file of a clean image the kernel could not supply: the kernel's
 * fault, not the program's. The check ends here with that verdict, written
 * with one write(2) from a buffer made before any mapping was touched.
 */
static char SIGBUS_LINE[2048];
static size_t SIGBUS_LEN;

static void on_fatal_bus(int sig, siginfo_t *si, void *ctx) {
  (void)sig; (void)ctx; (void)si;
  ssize_t w = write(1, SIGBUS_LINE, SIGBUS_LEN);
  (void)w;
  _exit(1);
}

void arm_fatal_sigbus(void) {
  struct jb b = {0};
  jb_printf(&b, "{\"t\":\"check\",\"name\":");
  jb_str(&b, C.name);
  jb_printf(&b, ",\"result\":\"fail\",\"reason\":\"SIGBUS: the kernel could not supply a page of a mapped file of a clean image (outside any verified read)\",\"proves\":");
  jb_str(&b, C.proves);
  jb_printf(&b, ",\"ms\":0,\"details\":{\"sigbus\":true}}\n");
  SIGBUS_LEN = b.n < sizeof SIGBUS_LINE ? b.n : sizeof SIGBUS_LINE;
  memcpy(SIGBUS_LINE, b.s, SIGBUS_LEN);
  free(b.s);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fatal_bus;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, NULL);
}
