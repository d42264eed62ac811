/* The command line: one command, one or more records. */
#include "esbprobe.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

void emit(struct jb *b) { jb_emit_to(b, stdout); }

static int cmd_hello(const char *mode, const char *rep) {
  struct utsname u;
  struct jb b = {0};
  uname(&u);
  jb_printf(&b, "{\"t\":\"hello\",\"release\":"); jb_str(&b, u.release);
  jb_printf(&b, ",\"mode\":"); jb_str(&b, mode);
  jb_printf(&b, ",\"rep\":%d,\"up\":%.0f}", atoi(rep), up_ms());
  emit(&b);
  return 0;
}

static int cmd_error(const char *what, const char *message) {
  struct jb b = {0};
  jb_printf(&b, "{\"t\":\"error\",\"what\":"); jb_str(&b, what);
  jb_printf(&b, ",\"message\":"); jb_str(&b, message);
  jb_printf(&b, "}");
  emit(&b);
  return 0;
}

/* "hash" is the older spelling of sha256; no digest unless asked */
static enum digest_kind digest_arg(const char *d) {
  if (!strcmp(d, "xxh64")) return DIGEST_XXH64;
  if (!strcmp(d, "sha256") || !strcmp(d, "hash")) return DIGEST_SHA256;
  return DIGEST_NONE;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  const char *c = argc >= 2 ? argv[1] : "";
  if (argc >= 4 && !strcmp(c, "hello")) return cmd_hello(argv[2], argv[3]);
  if (argc >= 4 && !strcmp(c, "settle")) return cmd_settle(argv[2], argv[3], argc >= 5 && !strcmp(argv[4], "drop"));
  if (argc >= 5 && !strcmp(c, "read")) return cmd_read(argv[2], argv[3], argv[4], digest_arg(argc >= 6 ? argv[5] : ""));
  if (argc >= 4 && !strcmp(c, "resident")) return cmd_resident(argv[2], argv[3]);
  if (argc >= 2 && !strcmp(c, "dmesg")) return cmd_dmesg();
  if (argc >= 4 && !strcmp(c, "cgroup")) return cmd_cgroup(argv[2], argv[3]);
  if (argc >= 5 && !strcmp(c, "output")) return cmd_output(argv[2], argv[3], argv[4]);
  if (argc >= 4 && !strcmp(c, "error")) return cmd_error(argv[2], argv[3]);
  fprintf(stderr, "usage: esbprobe hello|settle|read|resident|dmesg|cgroup|output|error ...\n");
  return 2;
}
