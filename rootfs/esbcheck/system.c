/* The guest system as the checks use it: files under /proc and /sys, caches, memory, mounts. */
#include "esbcheck.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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

/*
 * KiB read from block devices since boot (/proc/vmstat pgpgin): the guest's
 * only block devices are its images. -1 when unreadable. (Not
 * /sys/block/X/stat: its sysfs inodes outlive a cache drop and showed as
 * leaked inodes.)
 */
long long disk_read_kib(void) {
  char text[16384];
  if (!read_text("/proc/vmstat", text, sizeof text)) return -1;
  return stat_key(text, "pgpgin");
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

/*
 * What stays in memory once every image is unmounted: the block devices'
 * own page cache (metadata read through them) is flushed and only dentries
 * and inodes are dropped (drop_caches=2), so page cache that remains belongs
 * to inodes something still holds: a reference leaked at unmount keeps its
 * file's pages, where a full drop (3) would have hidden it.
 */
struct mem leftover(void) {
  char dev[32];
  for (char c = 'a'; c <= 'z'; c++) {
    snprintf(dev, sizeof dev, "/dev/vd%c", c);
    int fd = open(dev, O_RDONLY);
    if (fd < 0) break;
    ioctl(fd, BLKFLSBUF, 0);
    close(fd);
  }
  return settle("2");
}

/*
 * The leak judgement of umount-shared and mount-cycles, on totals over
 * `unmounts` unmounts against `base` (taken with nothing mounted, caches
 * dropped). Bands sit just above the noise seen on a clean kernel and are
 * tied to the count: the inode band is below the unmount count, so one
 * leaked inode per unmount always exceeds it. What the run could see is
 * recorded: the smallest leak per unmount that would have failed it.
 */
#define LEFT_PAGE_BAND_KIB 128 /* twice the settle tolerance */
#define SLAB_BAND_KIB 1024
#define SUNRECLAIM_BAND_KIB 512
char LEFTOVER_SUMMARY[512];
void judge_leftovers(struct mem base, long unmounts, long file_kib) {
  struct mem left = leftover();
  struct mem end = settle("3");
  det_mem("leftover", left);
  det_mem("final", end);
  long inode_band = (unmounts - 1) / 2 < 4 ? (unmounts - 1) / 2 : 4;
  long dl = left.cache - base.cache, di = end.inodes - base.inodes;
  long ds = end.slab - base.slab, du = end.sunreclaim - base.sunreclaim;
  char bands[256];
  snprintf(bands, sizeof bands, "{\"leftoverPageCacheKiB\":%d,\"inodes\":%ld,\"slabKiB\":%d,\"sunreclaimKiB\":%d}", LEFT_PAGE_BAND_KIB, inode_band, SLAB_BAND_KIB, SUNRECLAIM_BAND_KIB);
  det_raw("bands", bands);
  det_int("unmounts", unmounts);
  det_int("leftoverPageCacheDeltaKiB", dl);
  det_int("inodeDelta", di);
  det_int("slabDeltaKiB", ds);
  det_int("sunreclaimDeltaKiB", du);
  det_int("fileKiB", file_kib);
  det_num("leastInodesPerUnmountSeen", (double)(inode_band + 1) / unmounts);
  det_num("leastPageCacheKiBPerUnmountSeen", (double)(LEFT_PAGE_BAND_KIB + 1) / unmounts);
  if (!left.stable || !end.stable) tool_error("memory did not settle after everything was unmounted: no leak can be judged");
  if (dl > LEFT_PAGE_BAND_KIB)
    fail("%+ld KiB of page cache still held after %ld unmounts with nothing mounted (band %d KiB; the largest shared file is %ld KiB): something kept a reference to a file",
         dl, unmounts, LEFT_PAGE_BAND_KIB, file_kib);
  if (di > inode_band) fail("%+ld inodes after %ld unmounts (band %ld: one leaked per unmount exceeds it)", di, unmounts, inode_band);
  /* KASAN's quarantine holds freed objects back (slab grew 1.4-2.2 MiB over 200 unmounts of mainline on the
     sanitizer kernel, with kmemleak finding nothing): there kmemleak judges what slab would, object by object */
  if (kmemleak_present()) det_str("slabBands", "not judged: a sanitizer kernel (KASAN's quarantine keeps freed objects); kmemleak judges leaks");
  else {
    if (ds > SLAB_BAND_KIB) fail("slab grew %ld KiB over %ld unmounts (band %d KiB)", ds, unmounts, SLAB_BAND_KIB);
    if (du > SUNRECLAIM_BAND_KIB) fail("unreclaimable slab grew %ld KiB over %ld unmounts (band %d KiB)", du, unmounts, SUNRECLAIM_BAND_KIB);
  }
  snprintf(LEFTOVER_SUMMARY, sizeof LEFTOVER_SUMMARY, "after %ld unmounts: page cache held %+ld KiB, %+ld inodes, slab %+ld KiB", unmounts, dl, di, ds);
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

/* the whole of a /proc file, however long its lines (malloc'ed, NUL-terminated); NULL when it cannot be read */
char *read_whole(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (cap - n < 4096) buf = realloc(buf, cap *= 2);
    ssize_t r = read(fd, buf + n, cap - n - 1);
    if (r < 0) { free(buf); close(fd); return NULL; }
    if (r == 0) break;
    n += r;
  }
  close(fd);
  buf[n] = 0;
  return buf;
}

FILE *open_case_list(void) {
  const char *file = getenv("ESB_CASES");
  return fopen(file && *file ? file : "/check/cases", "r");
}

int mountinfo_line(const char *dir, char *line, size_t cap) {
  char *info = read_whole("/proc/self/mountinfo");
  if (!info) return -1;
  int found = 0;
  for (char *l = info; *l && !found;) {
    char *nl = strchr(l, '\n');
    if (nl) *nl = 0;
    char mp[512];
    if (sscanf(l, "%*s %*s %*s %*s %511s", mp) == 1 && !strcmp(mp, dir)) {
      found = 1;
      if (line) snprintf(line, cap, "%s", l);
    }
    if (!nl) break;
    l = nl + 1;
  }
  free(info);
  return found;
}
