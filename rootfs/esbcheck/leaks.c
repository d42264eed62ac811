/*
 * The leak oracle of a sanitizer kernel: kmemleak, scanned on demand (its
 * automatic scan is off in kernel/sanitizer.config). At a check's start the
 * objects kmemleak already suspects are cleared; at its end, after its last
 * unmount, two scans 6 s apart (an object younger than 5 s is never
 * reported) and the report: an unreferenced object whose allocation
 * backtrace passes through EROFS fails the check with that backtrace; others
 * are counted in its details. On a kernel without kmemleak nothing happens.
 */
#include "esbcheck.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define KMEMLEAK "/sys/kernel/debug/kmemleak"

static int kmemleak_command(const char *cmd) { return write_file(KMEMLEAK, cmd); }

int kmemleak_present(void) { return access(KMEMLEAK, W_OK) == 0; }

void kmemleak_begin(void) {
  if (kmemleak_present()) kmemleak_command("clear");
}

/* the function of a backtrace line: "    [<ffffffff81234567>] name+0x12/0x40" or, without addresses, "    name+0x12/0x40" */
static int frame_name(const char *line, char *out, size_t cap) {
  const char *at = strstr(line, "] ");
  at = at ? at + 2 : line + strspn(line, " \t");
  size_t n = strcspn(at, "+ \n");
  if (!n || at[n] != '+') return 0;
  snprintf(out, cap, "%.*s", (int)n, at);
  return 1;
}

/* kmemleak's report judged: an object allocated through EROFS fails the check with its backtrace and its raw block */
void kmemleak_verdict(const char *report) {
  int objects = 0, erofs = 0;
  char first[768] = "";
  for (const char *obj = strstr(report, "unreferenced object"); obj;) {
    const char *next = strstr(obj + 1, "unreferenced object");
    long size = 0;
    sscanf(obj, "unreferenced object %*s (size %ld)", &size);
    char frames[512] = "", name[128];
    int ours = 0, nframes = 0;
    const char *bt = strstr(obj, "backtrace");
    if (next && bt > next) bt = NULL;
    for (const char *l = bt ? strchr(bt, '\n') : NULL; l && (!next || l < next); l = strchr(l + 1, '\n')) {
      if (!frame_name(l + 1, name, sizeof name)) continue;
      if (strstr(name, "erofs")) ours = 1;
      if (nframes++ < 6) {
        size_t used = strlen(frames);
        snprintf(frames + used, sizeof frames - used, "%s%s", used ? " <- " : "", name);
      }
    }
    objects++;
    if (ours && !erofs++) {
      snprintf(first, sizeof first, "%ld bytes allocated at %s", size, frames);
      /* the object's own block, as kmemleak printed it: the evidence a maintainer reads */
      size_t len = next ? (size_t)(next - obj) : strlen(obj);
      char block[2048];
      snprintf(block, sizeof block, "%.*s", (int)(len < sizeof block - 1 ? len : sizeof block - 1), obj);
      det_str("kmemleakFirst", block);
    }
    obj = next;
  }
  det_int("kmemleakObjects", objects);
  det_int("kmemleakErofs", erofs);
  if (erofs)
    fail("LEAK: kmemleak found %d unreferenced object(s) allocated through EROFS after the check's last unmount; first: %s", erofs, first);
}

void kmemleak_judge(void) {
  if (!kmemleak_present()) return;
  if (kmemleak_command("scan") != 0) { det_str("kmemleak", "scan refused"); return; }
  sleep(6);
  kmemleak_command("scan");
  static char report[1 << 17];
  if (!read_text(KMEMLEAK, report, sizeof report)) report[0] = 0;
  kmemleak_verdict(report);
}
