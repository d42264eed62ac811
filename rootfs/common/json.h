/*
 * JSON lines built in memory. Every string is valid JSON and valid UTF-8
 * whatever bytes it came from (rootfs/README.md): well-formed UTF-8 passes
 * as it is, control characters, '"' and '\' are escaped, and every byte that
 * is not part of well-formed UTF-8 becomes U+FFFD.
 */
#ifndef ESB_JSON_H
#define ESB_JSON_H
#include <stddef.h>
#include <stdio.h>

/* a line being built; {0} is an empty one */
struct jb { char *s; size_t n, cap; };

void jb_put(struct jb *b, const char *p, size_t n);
void jb_printf(struct jb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* the inside of a JSON string for s[0..len); returns 0 when a byte became U+FFFD */
int jb_escn(struct jb *b, const char *s, size_t len);
/* a JSON string, quotes included; returns 0 when a byte became U+FFFD. NULL is "". */
int jb_strn(struct jb *b, const char *s, size_t len);
int jb_str(struct jb *b, const char *s);
/* ,"path":... for a file name, plus ,"pathHex":... with the raw bytes when a byte had to be replaced */
void jb_path(struct jb *b, const char *rel);
/* ends the line and writes it with one write(2) to stdout, so that forked writers never interleave; b is empty again */
void jb_emit(struct jb *b);
/* ends the line and hands it to stdio, many lines to a write(2); b is empty again */
void jb_emit_to(struct jb *b, FILE *f);
#endif
