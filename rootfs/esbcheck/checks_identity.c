/* What a mounted image says of itself to anyone who can read /proc: the trusted domain must not be among it. */
#include "esbcheck.h"
#include <stdio.h>
#include <string.h>

/* the mountinfo line of the mount at `dir` (its fifth field), copied into `line`; 0 when there is none */
static int mount_line(const char *info, const char *dir, char *line, size_t cap) {
  for (const char *l = info; l && *l;) {
    const char *end = strchr(l, '\n');
    size_t n = end ? (size_t)(end - l) : strlen(l);
    char one[1024], mp[300];
    snprintf(one, sizeof one, "%.*s", (int)n, l);
    if (sscanf(one, "%*s %*s %*s %*s %299s", mp) == 1 && strcmp(mp, dir) == 0) {
      snprintf(line, cap, "%s", one);
      return 1;
    }
    l = end ? end + 1 : NULL;
  }
  return 0;
}

void check_domain_id(void) {
  if (setup(1, 1)) return;
  static char info[1 << 16];
  if (!read_text("/proc/self/mountinfo", info, sizeof info)) { tool_error("cannot read /proc/self/mountinfo"); teardown(); return; }
  const char *dirs[2] = {MA, MB};
  int shown = 0;
  for (int i = 0; i < 2; i++) {
    char line[1024];
    if (!mount_line(info, dirs[i], line, sizeof line)) { tool_error("no line for %s in /proc/self/mountinfo", dirs[i]); teardown(); return; }
    det_str(i ? "mountinfoB" : "mountinfoA", line);
    if (strstr(line, "domain_id=")) shown++;
  }
  teardown();
  if (shown)
    finding("the trusted domain is shown in /proc/self/mountinfo (domain_id=esb on %d of the 2 images' lines): any process that reads mountinfo learns it (mainline never shows it: \"not shown in mountinfo output\", Documentation/filesystems/erofs.rst)", shown);
  else
    summary("neither image's /proc/self/mountinfo line shows its domain_id, with both mounted and sharing in effect");
}
