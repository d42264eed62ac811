/* What a mounted image says of itself to anyone who can read /proc: the trusted domain must not be among it. */
#include "esbcheck.h"
#include <stdio.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

/* the /sys/fs/erofs entries whose name holds `domain`, comma-joined into `out`; how many */
static int sysfs_naming(const char *domain, char *out, size_t cap) {
  DIR *d = opendir("/sys/fs/erofs");
  int n = 0;
  out[0] = 0;
  if (!d) return 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (!strstr(e->d_name, domain)) continue;
    size_t used = strlen(out);
    snprintf(out + used, cap - used, "%s%s", n++ ? ", " : "", e->d_name);
  }
  closedir(d);
  return n;
}

/* the keyless line of the case list: the devices of A and B without their fingerprint key */
static int keyless_devices(char *a, char *b, size_t cap) {
  FILE *f = open_case_list();
  char line[512], da[32], db[32];
  int found = 0;
  if (!f) return 0;
  while (!found && fgets(line, sizeof line, f))
    if (sscanf(line, "keyless %31s %31s", da, db) == 2) {
      snprintf(a, cap, "/dev/%s", da);
      snprintf(b, cap, "/dev/%s", db);
      found = 1;
    }
  fclose(f);
  return found;
}

void check_domain_id(void) {
  if (setup(1, 1)) return;
  char shown_in[1024] = "", names[512];
  const char *dirs[2] = {MA, MB};
  int shown = 0;
  for (int i = 0; i < 2; i++) {
    char line[1024];
    int found = mountinfo_line(dirs[i], line, sizeof line);
    if (found <= 0) {
      if (found < 0) tool_error("cannot read /proc/self/mountinfo");
      else tool_error("no line for %s in /proc/self/mountinfo", dirs[i]);
      teardown();
      return;
    }
    det_str(i ? "mountinfoB" : "mountinfoA", line);
    if (strstr(line, "domain_id=")) shown++;
  }
  if (shown)
    snprintf(shown_in, sizeof shown_in, "/proc/self/mountinfo (domain_id=esb on %d of the 2 images' lines)", shown);
  if (sysfs_naming("esb", names, sizeof names)) {
    det_str("sysfsShared", names);
    size_t used = strlen(shown_in);
    snprintf(shown_in + used, sizeof shown_in - used, "%s/sys/fs/erofs/%s", used ? " and " : "", names);
  }
  teardown();

  /* images without a fingerprint key, mounted with the same options: the series may name them by the domain */
  char ka[64], kb[64], o[512];
  const char *keyless = "no images without a fingerprint key attached";
  if (keyless_devices(ka, kb, sizeof ka)) {
    int ea = mount_erofs(ka, MA, share_opts("esb", o, sizeof o));
    if (ea) {
      fail("an image without a fingerprint key, mounted with %s: %s (a valid image must mount; sharing simply has nothing to share)", o, strerror(ea));
    } else {
      if (sysfs_naming("esb", names, sizeof names)) {
        det_str("sysfsKeyless", names);
        size_t used = strlen(shown_in);
        snprintf(shown_in + used, sizeof shown_in - used, "%s/sys/fs/erofs/%s (an image without a fingerprint key)", used ? " and " : "", names);
      }
      int eb = mount_erofs(kb, MB, share_opts("esb", o, sizeof o));
      if (eb) {
        fail("a second image without a fingerprint key in the same domain was refused: %s (both are valid images; the first took the domain's name in /sys/fs/erofs)", strerror(eb));
      }
      keyless = "two images without a fingerprint key mounted side by side in one domain";
    }
    teardown();
  }
  det_str("keyless", keyless);
  /* a disclosure is named beside a failure too; check_end reads the kernel log, where a warning fails it */
  if (shown_in[0])
    finding("the trusted domain is shown in %s: any process that reads them learns it (mainline never shows it: \"not shown in mountinfo output\", Documentation/filesystems/erofs.rst, and names /sys/fs/erofs entries by device)", shown_in);
  else if (!C.failures)
    summary("no /proc/self/mountinfo line or /sys/fs/erofs name shows the domain, with both images shared; %s", keyless);
}
