/*
 * JSON lines, built in memory and written with one write(2) each so that
 * forked workers never interleave. Strings follow esbprobe's rule (see
 * rootfs/README.md): well-formed UTF-8 passes as it is, control characters,
 * '"' and '\' are escaped, every other byte becomes U+FFFD, and a file name
 * that needed a replacement also goes out as pathHex.
 */
#include "esbcheck.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void jb_put(struct jb *b, const char *p, size_t n) {
  if (b->n + n + 2 > b->cap) {
    b->cap = (b->n + n + 2) * 2 + 256;
    b->s = realloc(b->s, b->cap);
  }
  memcpy(b->s + b->n, p, n);
  b->n += n;
  b->s[b->n] = 0;
}

void jb_printf(struct jb *b, const char *fmt, ...) {
  char tmp[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  jb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629), or 0 when none starts there: as esbprobe.c. */
static size_t utf8_seq(const unsigned char *p, size_t left) {
  unsigned char c = p[0], lo = 0x80, hi = 0xbf;
  size_t n;
  if (c < 0x80) return 1;
  if (c < 0xc2) return 0;
  if (c < 0xe0) n = 2;
  else if (c < 0xf0) { n = 3; if (c == 0xe0) lo = 0xa0; if (c == 0xed) hi = 0x9f; }
  else if (c < 0xf5) { n = 4; if (c == 0xf0) lo = 0x90; if (c == 0xf4) hi = 0x8f; }
  else return 0;
  if (left < n || p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < n; i++) if ((p[i] & 0xc0) != 0x80) return 0;
  return n;
}

/* the inside of a JSON string; returns 0 when a byte was replaced */
static int escape_into(struct jb *b, const char *s) {
  const unsigned char *p = (const unsigned char *)(s ? s : ""), *end = p + strlen((const char *)p);
  int exact = 1;
  while (p < end) {
    size_t n = utf8_seq(p, end - p);
    if (n == 0) { jb_put(b, "\xef\xbf\xbd", 3); exact = 0; p++; continue; }
    if (n > 1) { jb_put(b, (const char *)p, n); p += n; continue; }
    unsigned char c = *p++;
    char e[8];
    if (c == '"' || c == '\\') { e[0] = '\\'; e[1] = c; jb_put(b, e, 2); }
    else if (c == '\n') jb_put(b, "\\n", 2);
    else if (c == '\t') jb_put(b, "\\t", 2);
    else if (c < 0x20 || c == 0x7f) { snprintf(e, sizeof e, "\\u%04x", c); jb_put(b, e, 6); }
    else jb_put(b, (const char *)&c, 1);
  }
  return exact;
}

int jb_str(struct jb *b, const char *s) {
  jb_put(b, "\"", 1);
  int exact = escape_into(b, s);
  jb_put(b, "\"", 1);
  return exact;
}

void jb_path(struct jb *b, const char *rel) {
  jb_put(b, ",\"path\":", 8);
  if (jb_str(b, rel)) return;
  jb_put(b, ",\"pathHex\":\"", 12);
  for (const unsigned char *p = (const unsigned char *)rel; *p; p++) jb_printf(b, "%02x", *p);
  jb_put(b, "\"", 1);
}

void jb_emit(struct jb *b) {
  jb_put(b, "\n", 1);
  size_t off = 0;
  while (off < b->n) {
    ssize_t w = write(1, b->s + off, b->n - off);
    if (w <= 0) { if (errno == EINTR) continue; break; }
    off += w;
  }
  free(b->s);
  b->s = NULL; b->n = b->cap = 0;
}

const char *esc(const char *s) {
  static char bufs[4][2048];
  static int k;
  char *o = bufs[k++ & 3];
  struct jb b = {0};
  escape_into(&b, s);
  snprintf(o, sizeof bufs[0], "%s", b.s ? b.s : "");
  free(b.s);
  return o;
}

double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ms since the guest booted, as esbprobe's "up": the host tells where a boot's time went */
double up_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
