/*
 * What a mapping of a shared file is seen as: the name /proc shows for it
 * (the file the user opened: path, device, inode), also when the file was
 * opened under a path longer than PATH_MAX.
 */
#include "esbcheck.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

/* a /proc/self/maps line as the kernel writes it: start-end perms offset MAJ:MIN inode   path */
struct maps_line { unsigned maj, min; unsigned long long ino; char *path; char *line; };

/* the line of the mapping [start, end) (both malloc'ed in `out`); 0 when there is none */
static int maps_find(uintptr_t start, uintptr_t end, struct maps_line *out) {
  char *maps = read_whole("/proc/self/maps");
  if (!maps) return 0;
  int found = 0;
  for (char *l = maps; l && *l;) {
    char *nl = strchr(l, '\n');
    if (nl) *nl = 0;
    unsigned long s, e;
    unsigned maj, min;
    unsigned long long ino;
    int at = 0;
    if (sscanf(l, "%lx-%lx %*s %*x %x:%x %llu %n", &s, &e, &maj, &min, &ino, &at) == 5 && s == start && e == end) {
      out->maj = maj; out->min = min; out->ino = ino;
      out->path = strdup(at ? l + at : "");
      out->line = strdup(l);
      found = 1;
      break;
    }
    l = nl ? nl + 1 : NULL;
  }
  free(maps);
  return found;
}

/* a file name for a message: one longer than 2 * keep + 20 bytes cut in the middle */
static const char *shorten(const char *s, char *buf, size_t cap, int keep) {
  size_t n = strlen(s);
  if (n < (size_t)(2 * keep + 20)) snprintf(buf, cap, "%s", s);
  else snprintf(buf, cap, "%.*s...(%zu bytes)...%s", keep, s, n, s + n - keep);
  return buf;
}

/*
 * How one mapping is named against the file the user opened (`want`, its
 * stat `st`): what /proc shows instead, appended to `diff` in one piece
 * ("A: maps "/" 00:0f inode 0, map_files ... for the opened P (fe:00 inode N)");
 * 1 when it is named otherwise, 0 when right, -1 when the check could not
 * look (a tool error is recorded).
 */
static int judge_names(const char *side, uintptr_t start, uintptr_t end, const char *want, const struct stat *st,
                       int with_map_files, char *diff, size_t cap) {
  struct maps_line m = {0};
  char key[64], a[400], b[400];
  if (!maps_find(start, end, &m)) { tool_error("%s: no line for the mapping %lx-%lx in /proc/self/maps", side, (unsigned long)start, (unsigned long)end); return -1; }
  snprintf(key, sizeof key, "maps%s", side);
  det_str(key, shorten(m.line, a, sizeof a, 150));
  int maps_bad = strcmp(m.path, want) || m.maj != major(st->st_dev) || m.min != minor(st->st_dev) || m.ino != (unsigned long long)st->st_ino;
  char link[64], got[4096] = "";
  struct stat ls;
  int mf_bad = 0;
  if (with_map_files) {
    /* the link names the path; followed, it is the inode the kernel hands out for the mapping */
    snprintf(link, sizeof link, "/proc/self/map_files/%lx-%lx", (unsigned long)start, (unsigned long)end);
    ssize_t n = readlink(link, got, sizeof got - 1);
    if (n < 0) { tool_error("%s: readlink %s: %s", side, link, strerror(errno)); free(m.path); free(m.line); return -1; }
    got[n] = 0;
    snprintf(key, sizeof key, "mapFiles%s", side);
    det_str(key, got);
    if (stat(link, &ls) != 0) { tool_error("%s: stat %s: %s", side, link, strerror(errno)); free(m.path); free(m.line); return -1; }
    mf_bad = strcmp(got, want) || ls.st_dev != st->st_dev || ls.st_ino != st->st_ino;
  }
  if (maps_bad || mf_bad) {
    size_t n = strlen(diff);
    n += snprintf(diff + n, cap - n, "%s%s: ", n ? "; " : "", side);
    if (maps_bad && n < cap)
      n += snprintf(diff + n, cap - n, "maps \"%s\" %02x:%02x inode %llu%s", shorten(m.path, a, sizeof a, 40), m.maj, m.min, m.ino, mf_bad ? ", " : "");
    if (mf_bad && n < cap)
      n += snprintf(diff + n, cap - n, "map_files \"%s\" (%02x:%02x inode %llu)", shorten(got, a, sizeof a, 40), major(ls.st_dev), minor(ls.st_dev), (unsigned long long)ls.st_ino);
    if (n < cap)
      snprintf(diff + n, cap - n, " for the opened %s (%02x:%02x inode %llu)", shorten(want, b, sizeof b, 40), major(st->st_dev), minor(st->st_dev), (unsigned long long)st->st_ino);
  }
  free(m.path); free(m.line);
  return maps_bad || mf_bad;
}

/* the first kernel WARNING (or other splat) logged since `fd` was opened, into `line`; 0 when none */
static int kmsg_splat(int fd, char *line, size_t cap) {
  char msg[8192];
  int found = 0;
  if (fd < 0) return 0;
  while (kmsg_next(fd, msg, sizeof msg))
    if (!found && kmsg_is_splat(msg)) { snprintf(line, cap, "%.200s", msg); found = 1; }
  return found;
}

/* the chain of directories whose path exceeds PATH_MAX: /tmp/esb-deep/NN ddd.../ ... */
#define DEEP_BASE "/tmp/esb-deep"
#define DEEP_LEVELS 22 /* of 200 bytes: 4422 bytes and more */
static char DEEP_NAME[DEEP_LEVELS][204];
static int DEEP_MADE;
static size_t DEEP_MOUNT_BYTES; /* the length of the path image A was mounted at */

/* leaves the deep chain, unmounting what is mounted at its end and removing every directory made; cwd is / after */
static void deep_cleanup(int mounted) {
  if (DEEP_MADE == DEEP_LEVELS) {
    if (mounted) while (umount2("m", MNT_DETACH) == 0) ;
    rmdir("m");
  }
  for (int i = DEEP_MADE - 1; i >= 0; i--) {
    if (chdir("..") != 0) break;
    if (rmdir(DEEP_NAME[i]) != 0) step("deep-cleanup", "\"level\":%d,\"errno\":%d", i, errno);
  }
  if (chdir("/") != 0) { /* nothing to do */ }
  rmdir(DEEP_BASE);
  DEEP_MADE = 0;
}

/* mkdir + chdir down DEEP_LEVELS relative names from DEEP_BASE; the absolute path into `path`; 0 or an errno */
static int deep_make(char *path, size_t cap) {
  DEEP_MADE = 0;
  mkdir(DEEP_BASE, 0755);
  if (chdir(DEEP_BASE) != 0) return errno;
  size_t n = (size_t)snprintf(path, cap, "%s", DEEP_BASE);
  for (int i = 0; i < DEEP_LEVELS; i++) {
    snprintf(DEEP_NAME[i], sizeof DEEP_NAME[i], "%02d", i);
    memset(DEEP_NAME[i] + 2, 'd', 198);
    DEEP_NAME[i][200] = 0;
    if (mkdir(DEEP_NAME[i], 0755) != 0 && errno != EEXIST) return errno;
    if (chdir(DEEP_NAME[i]) != 0) { int e = errno; rmdir(DEEP_NAME[i]); return e; }
    DEEP_MADE = i + 1;
    n += (size_t)snprintf(path + n, cap - n, "/%s", DEEP_NAME[i]);
  }
  if (mkdir("m", 0755) != 0 && errno != EEXIST) return errno;
  return 0;
}

/* a shared file /proc can name without escapes (maps writes a newline as \012) */
static struct ref *plain_shared(void) {
  for (int i = 0; i < NSHARED; i++) if (!strpbrk(SHARED[i]->path, "\n\\")) return SHARED[i];
  return NULL;
}

/* The second part of map-identity: image A mounted under a path longer than PATH_MAX, one of its shared files opened there. */
static void deep_open(const struct ref *r, char *diff, size_t cap, int *named_wrong) {
  static char deep[DEEP_LEVELS * 204 + 64];
  char o[512], msg[320];
  int e = deep_make(deep, sizeof deep);
  if (e) { tool_error("making the nested directories of a path longer than PATH_MAX under %s: %s", DEEP_BASE, strerror(e)); deep_cleanup(0); return; }
  DEEP_MOUNT_BYTES = strlen(deep) + 2;
  det_int("deepMountPathBytes", (long long)DEEP_MOUNT_BYTES);
  if (mount(DEV_A, "m", "erofs", MS_RDONLY, *share_opts("esb", o, sizeof o) ? o : NULL) != 0) {
    fail("mount -t erofs -o ro,%s %s at a %zu-byte path (mount(2) with a relative target): %s", o, DEV_A, strlen(deep) + 2, strerror(errno));
    deep_cleanup(0);
    return;
  }
  char rel[4200];
  snprintf(rel, sizeof rel, "m/%s", r->path);
  char full[sizeof deep + 4200];
  snprintf(full, sizeof full, "%s/%s", deep, rel);
  int kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
  if (kfd >= 0) lseek(kfd, 0, SEEK_END);
  int fd = openat(AT_FDCWD, rel, O_RDONLY);
  int oe = fd < 0 ? errno : 0;
  char warn[256] = "";
  int warned = kmsg_splat(kfd, warn, sizeof warn);
  step("deep-open", "\"pathBytes\":%zu,\"errno\":%d,\"warning\":%s", strlen(full), oe, warned ? "true" : "false");
  if (warned) {
    det_str("deepOpenWarning", warn);
    fail("opening a shared file of A mounted at a %zu-byte path logged a kernel warning: %s", strlen(deep) + 2, warn);
  }
  if (fd < 0) {
    fail("openat of A's shared %s, mounted at a path of %zu bytes (over PATH_MAX), refused: %s (errno %d)", r->path, strlen(deep) + 2, strerror(oe), oe);
  } else {
    char hex[DIGEST_HEX] = "";
    long long size = -1;
    int he = hash_fd(fd, M_READ, hex, &size); /* closes fd */
    if (he) fail("read of A's %s under the long path: %s", r->path, strerror(he));
    else if (strcmp(hex, r->digest) || size != r->size)
      fail("A's %s read under the long path back %.16s (size %lld), expected %.16s (size %lld)", r->path, hex, size, r->digest, r->size);
    else VERIFIED++;
    /* a mapping of it, named in maps by the long path (map_files cannot: readlink stops at PATH_MAX) */
    fd = openat(AT_FDCWD, rel, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) fail("second openat of A's %s under the long path: %s", r->path, strerror(errno));
    else {
      uint8_t *p = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
      close(fd);
      fd = -1;
      if (p == MAP_FAILED) fail("mmap of A's %s under the long path: %s", r->path, strerror(errno));
      else {
        verify_map("mapping under the long path", p, r);
        int w = judge_names("Deep", (uintptr_t)p, (uintptr_t)p + ((r->size + 4095) & ~4095LL), full, &st, 0, diff, cap);
        if (w > 0) *named_wrong = 1;
        munmap(p, r->size);
      }
    }
    if (fd >= 0) close(fd);
  }
  if (kfd >= 0) {
    if (!warned && kmsg_splat(kfd, warn, sizeof warn)) {
      det_str("deepWarning", warn);
      fail("reading a shared file of A mounted at a %zu-byte path logged a kernel warning: %s", strlen(deep) + 2, warn);
    }
    close(kfd);
  }
  step("deep-done", "\"path\":\"%s\"", esc(shorten(full, msg, sizeof msg, 80)));
  deep_cleanup(1);
}

void check_map_identity(void) {
  if (setup(1, 1)) return;
  struct ref *r = plain_shared();
  if (!r) { not_applicable("every shared file's name holds a newline or a backslash, which /proc/self/maps escapes"); teardown(); return; }
  det_str("file", r->path);
  static char diff[4096];
  diff[0] = 0;
  int wrong = 0;
  /* 1. the file mapped through A (shared) and B (private), descriptors closed, as the user named it */
  const char *roots[2] = {MA, MB}, *sides[2] = {"A", "B"};
  int flags[2] = {MAP_SHARED, MAP_PRIVATE};
  for (int i = 0; i < 2; i++) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", roots[i], r->path);
    if (stat(path, &st) != 0) { fail("stat %s: %s", path, strerror(errno)); continue; }
    int fd = open(path, O_RDONLY);
    if (fd < 0) { fail("open %s: %s", path, strerror(errno)); continue; }
    uint8_t *p = mmap(NULL, r->size, PROT_READ, flags[i], fd, 0);
    int me = p == MAP_FAILED ? errno : 0;
    close(fd);
    if (p == MAP_FAILED) { fail("mmap %s: %s", path, strerror(me)); continue; }
    verify_map(sides[i], p, r);
    char key[32];
    snprintf(key, sizeof key, "stat%s", sides[i]);
    char sv[96];
    snprintf(sv, sizeof sv, "%02x:%02x %llu", major(st.st_dev), minor(st.st_dev), (unsigned long long)st.st_ino);
    det_str(key, sv);
    if (judge_names(sides[i], (uintptr_t)p, (uintptr_t)p + ((r->size + 4095) & ~4095LL), path, &st, 1, diff, sizeof diff) > 0) wrong = 1;
    munmap(p, r->size);
  }
  /* 2. A mounted again under a path longer than PATH_MAX (B stays), and the file opened there */
  int e = do_umount(MA, 0);
  if (e) { tool_error("umount %s before the long-path part: %s", MA, strerror(e)); teardown(); return; }
  deep_open(r, diff, sizeof diff, &wrong);
  verify("B", MB, r, M_READ);
  teardown();
  det_int("verified", VERIFIED);
  if (wrong)
  {
    det_str("misnamed", diff);
    finding("hardening mainline has: mainline opens the shared copy with backing_file_open, so /proc/self/maps and map_files name the file the user opened (path, device, inode); this kernel names a mapped shared file otherwise: %s", diff);
  }
  else
    summary("mappings of %s through A and B are named in /proc/self/maps and map_files by the opened path, its device and inode; mounted at a %zu-byte path (over PATH_MAX) it opened, read and mapped right with no kernel warning", r->path, DEEP_MOUNT_BYTES);
}
