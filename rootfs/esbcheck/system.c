/* The guest system as the checks use it: files under /proc and /sys, caches, memory, mounts. */
#include "esbcheck.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) return -errno;
  ssize_t w = write(fd, text, strlen(text));
  int e = w < 0 ? -errno : 0;
  close(fd);
  return e;
}

char *read_text(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY);
  buf[0] = 0;
  if (fd < 0) return NULL;
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  buf[n > 0 ? n : 0] = 0;
  return buf;
}

void drop_caches(const char *level) {
  sync();
  write_file("/proc/sys/vm/drop_caches", level);
}

long stat_key(const char *text, const char *key) {
  size_t n = strlen(key);
  for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
    if (!strncmp(p, key, n) && (p[n] == ':' || p[n] == ' ')) return strtol(p + n + 1, NULL, 10);
  }
  return -1;
}

struct mem mem_now(void) {
  char buf[8192], nr[128];
  struct mem m;
  read_text("/proc/meminfo", buf, sizeof buf);
  /* the initramfs lives in Shmem: page cache of files is Cached - Shmem, as in the read-all phase */
  m.cache = stat_key(buf, "Cached") - stat_key(buf, "Shmem");
  m.slab = stat_key(buf, "Slab");
  m.sunreclaim = stat_key(buf, "SUnreclaim");
  m.inodes = atol(read_text("/proc/sys/fs/inode-nr", nr, sizeof nr) ? nr : "0");
  m.dentries = atol(read_text("/proc/sys/fs/dentry-state", nr, sizeof nr) ? nr : "0");
  m.stable = 0;
  return m;
}

/* sync, optionally drop caches, then read until two page cache readings agree within 64 KiB */
struct mem settle(const char *drop) {
  if (drop) drop_caches(drop); else sync();
  struct mem prev = mem_now(), cur = prev;
  for (int i = 0; i < 30; i++) {
    usleep(200 * 1000);
    cur = mem_now();
    if (labs(cur.cache - prev.cache) <= 64) { cur.stable = 1; break; }
    prev = cur;
  }
  return cur;
}

void det_mem(const char *k, struct mem m) {
  char tmp[256];
  snprintf(tmp, sizeof tmp, "{\"pageCacheKiB\":%ld,\"slabKiB\":%ld,\"sunreclaimKiB\":%ld,\"inodes\":%ld,\"dentries\":%ld,\"stable\":%s}",
           m.cache, m.slab, m.sunreclaim, m.inodes, m.dentries, m.stable ? "true" : "false");
  det_raw(k, tmp);
}

const char *share_tmpl;

int sharing_configured(void) { return share_tmpl && *share_tmpl && strcmp(share_tmpl, "none"); }

/* mount options for sharing in `domain`; "" when sharing is off */
const char *share_opts(const char *domain, char *buf, size_t cap) {
  buf[0] = 0;
  if (!sharing_configured()) return buf;
  const char *at = strstr(share_tmpl, "{domain}");
  if (!at) snprintf(buf, cap, "%s", share_tmpl);
  else snprintf(buf, cap, "%.*s%s%s", (int)(at - share_tmpl), share_tmpl, domain, at + 8);
  return buf;
}

int mount_erofs(const char *dev, const char *dir, const char *opts) {
  mkdir(dir, 0755);
  if (mount(dev, dir, "erofs", MS_RDONLY, opts && *opts ? opts : NULL) != 0) return errno;
  return 0;
}

/* mounts with sharing in `domain`; a refusal fails the check */
int mount_shared(const char *dev, const char *dir, const char *domain) {
  char o[512];
  int e = mount_erofs(dev, dir, share_opts(domain, o, sizeof o));
  if (e) fail("mount -t erofs -o ro,%s %s %s: %s", o, dev, dir, strerror(e));
  return e;
}

int do_umount(const char *dir, int flags) {
  return umount2(dir, flags) != 0 ? errno : 0;
}

void umount_quiet(const char *dir) { while (umount2(dir, MNT_DETACH) == 0) ; }

void teardown(void) { umount_quiet(MA); umount_quiet(MB); }

/* a time-bounded check's budget: its default at ESB_SECONDS=30, scaled */
double budget_s(double dflt) {
  const char *s = getenv("ESB_SECONDS");
  double v = s && *s ? atof(s) : 0;
  return v > 0 ? v * dflt / 30.0 : dflt;
}
