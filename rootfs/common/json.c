#include "json.h"
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* room for n more bytes, a newline and the NUL */
static void reserve(struct jb *b, size_t n) {
  if (b->n + n + 2 <= b->cap) return;
  b->cap = (b->n + n + 2) * 2 + 256;
  b->s = realloc(b->s, b->cap);
}

void jb_put(struct jb *b, const char *p, size_t n) {
  reserve(b, n);
  memcpy(b->s + b->n, p, n);
  b->n += n;
  b->s[b->n] = 0;
}

void jb_printf(struct jb *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) { jb_put(b, tmp, n); return; }
  /* longer than the stack buffer: format again straight into the line */
  reserve(b, n);
  va_start(ap, fmt);
  vsnprintf(b->s + b->n, n + 1, fmt, ap);
  va_end(ap);
  b->n += n;
}

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms,
 * no encoded surrogates, nothing above U+10FFFF), or 0 when no sequence
 * starts there: a stray continuation byte, a truncated sequence, 0xf5-0xff.
 */
static size_t utf8_seq(const unsigned char *p, size_t left) {
  unsigned char c = p[0], lo = 0x80, hi = 0xbf; /* range of the second byte */
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

int jb_escn(struct jb *b, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
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

int jb_strn(struct jb *b, const char *s, size_t len) {
  jb_put(b, "\"", 1);
  int exact = s ? jb_escn(b, s, len) : 1;
  jb_put(b, "\"", 1);
  return exact;
}

int jb_str(struct jb *b, const char *s) { return jb_strn(b, s, s ? strlen(s) : 0); }

/* U+FFFD is lossy: the host matches a file by pathHex when there is one and by path otherwise */
void jb_path(struct jb *b, const char *rel) {
  jb_put(b, ",\"path\":", 8);
  if (jb_str(b, rel)) return;
  jb_put(b, ",\"pathHex\":\"", 12);
  for (const unsigned char *p = (const unsigned char *)rel; *p; p++) jb_printf(b, "%02x", *p);
  jb_put(b, "\"", 1);
}

static void jb_clear(struct jb *b) {
  free(b->s);
  b->s = NULL; b->n = b->cap = 0;
}

void jb_emit(struct jb *b) {
  jb_put(b, "\n", 1);
  size_t off = 0;
  while (off < b->n) {
    ssize_t w = write(1, b->s + off, b->n - off);
    if (w <= 0) { if (errno == EINTR) continue; break; }
    off += w;
  }
  jb_clear(b);
}

void jb_emit_to(struct jb *b, FILE *f) {
  jb_put(b, "\n", 1);
  fwrite(b->s, 1, b->n, f);
  jb_clear(b);
}
