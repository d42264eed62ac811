/*
 * What a mapping of a shared file is seen as, and what it holds: the name
 * /proc shows for it (the file the user opened, also under a path longer than
 * PATH_MAX), and the bytes it reads once every image it came from is gone.
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

/* the whole of a /proc file, however long its lines (malloc'ed, NUL-terminated); NULL when it cannot be read */
static char *slurp(const char *path) {
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

/* a /proc/self/maps line as the kernel writes it: start-end perms offset MAJ:MIN inode   path */
struct maps_line { unsigned maj, min; unsigned long long ino; char *path; char *line; };

/* the line of the mapping [start, end) (both malloc'ed in `out`); 0 when there is none */
static int maps_find(uintptr_t start, uintptr_t end, struct maps_line *out) {
  char *maps = slurp("/proc/self/maps");
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

/* copies one page of a mapping (guarded: a SIGBUS ends it) */
struct page_job { const uint8_t *from; uint8_t *to; size_t n; };
static void page_job(void *arg) { struct page_job *j = arg; memcpy(j->to, j->from, j->n); }

/* what the reader of the mappings found once every image was gone, shared with the check */
struct outlive {
  volatile int phase; /* where the reader is: an index of OUTLIVE_PHASE */
  volatile long resident;
  volatile long wrong[2], bus[2];
  volatile long long first[2];
  char hex[2][DIGEST_HEX];
};
static const char *OUTLIVE_PHASE[] = {"dropping caches", "counting resident pages", "reading the A mapping", "reading the B mapping", "done"};
#define OUTLIVE_WATCHDOG_S 90

/* every page of `p` into the shared record `o` (side i): pages that read other bytes than `want`, pages that raised SIGBUS */
static void read_all_pages(struct outlive *o, int i, const uint8_t *p, const uint8_t *want, const struct ref *r) {
  uint8_t *got = malloc(r->size);
  o->wrong[i] = o->bus[i] = 0;
  o->first[i] = -1;
  for (long long off = 0; off < r->size; off += 4096) {
    size_t n = r->size - off < 4096 ? (size_t)(r->size - off) : 4096;
    struct page_job j = {p + off, got + off, n};
    if (guarded(page_job, &j)) { o->bus[i]++; memcpy(got + off, want + off, n); continue; }
    if (memcmp(got + off, want + off, n)) { if (o->first[i] < 0) o->first[i] = off; o->wrong[i]++; }
  }
  digest_of(DIGEST, got, r->size, o->hex[i]);
  free(got);
}

/* the reader, in a child the check watches: a fault that never returns is reported, not waited for until the host gives up */
static void outlive_reader(struct outlive *o, uint8_t *m[2], const uint8_t *want, const struct ref *r) {
  long long pages = (r->size + 4095) / 4096;
  o->phase = 0;
  drop_caches("3");
  o->phase = 1;
  /* what is left in the page cache: every other page is read again through the kernel, with no image mounted */
  unsigned char *vec = malloc(pages);
  long resident = 0;
  if (mincore(m[0], r->size, vec) == 0) for (long long k = 0; k < pages; k++) resident += vec[k] & 1;
  else resident = -1;
  free(vec);
  o->resident = resident;
  step("caches-dropped", "\"residentPages\":%ld,\"pages\":%lld", resident, pages);
  for (int i = 0; i < 2; i++) {
    o->phase = 2 + i;
    read_all_pages(o, i, m[i], want, r);
    step("read-mapping", "\"image\":\"%s\",\"wrongPages\":%ld,\"sigbusPages\":%ld,\"%s\":\"%s\"", i ? "B" : "A", o->wrong[i], o->bus[i], digest_name(DIGEST), o->hex[i]);
  }
  o->phase = 4;
}

/* where a stuck task is: its state, wchan and the functions of its kernel stack, in one line */
static void stuck_where(pid_t pid, char *out, size_t cap) {
  char path[64], stat[512] = "", wchan[128] = "", stack[4096] = "";
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  read_text(path, stat, sizeof stat);
  char *rp = strrchr(stat, ')');
  char state = rp && rp[1] == ' ' ? rp[2] : '?';
  snprintf(path, sizeof path, "/proc/%d/wchan", (int)pid);
  read_text(path, wchan, sizeof wchan);
  snprintf(path, sizeof path, "/proc/%d/stack", (int)pid);
  read_text(path, stack, sizeof stack);
  size_t n = (size_t)snprintf(out, cap, "state %c, wchan %s, stack:", state, *wchan ? wchan : "-");
  int frames = 0;
  for (char *l = stack; *l && frames < 10 && n < cap;) {
    char *nl = strchr(l, '\n');
    if (nl) *nl = 0;
    char *fn = strchr(l, ']');
    fn = fn ? fn + 1 : l;
    while (*fn == ' ') fn++;
    char *plus = strchr(fn, '+');
    if (plus) *plus = 0;
    if (*fn) { n += (size_t)snprintf(out + n, cap - n, " %s", fn); frames++; }
    if (!nl) break;
    l = nl + 1;
  }
  if (!frames && n < cap) snprintf(out + n, cap - n, " (none readable)");
}

/* whether a mount sits at `dir` in /proc/self/mountinfo */
static int mounted_at(const char *dir) {
  char *info = slurp("/proc/self/mountinfo");
  int found = 0;
  for (char *l = info; l && *l && !found;) {
    char *nl = strchr(l, '\n');
    if (nl) *nl = 0;
    char mp[512];
    if (sscanf(l, "%*s %*s %*s %*s %511s", mp) == 1 && !strcmp(mp, dir)) found = 1;
    l = nl ? nl + 1 : NULL;
  }
  free(info);
  return found;
}

void check_mapping_outlives_images(void) {
  if (setup(1, 1)) return;
  struct ref *r = SHARED[0];
  long long pages = (r->size + 4095) / 4096;
  det_str("file", r->path);
  det_int("pages", pages);
  /* the file's bytes, read through A while it is mounted, for the page-by-page judgement */
  uint8_t *want = malloc(r->size);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", MA, r->path);
  int fd = open(path, O_RDONLY);
  ssize_t got = fd < 0 ? -1 : pread(fd, want, r->size, 0);
  if (fd >= 0) close(fd);
  char hex[DIGEST_HEX];
  if (got == r->size) digest_of(DIGEST, want, r->size, hex);
  if (got != r->size || strcmp(hex, r->digest)) {
    fail("reading A's %s before anything was unmounted: %s", r->path, got < 0 ? strerror(errno) : "other bytes than the reference");
    free(want); teardown(); return;
  }
  /* the mappings: A shared, B private, descriptors closed, the first page faulted in */
  const char *roots[2] = {MA, MB}, *sides[2] = {"A", "B"};
  int flags[2] = {MAP_SHARED, MAP_PRIVATE};
  uint8_t *m[2] = {NULL, NULL};
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s", roots[i], r->path);
    fd = open(path, O_RDONLY);
    if (fd < 0) { not_applicable("the premise does not hold: %s could not be opened to be mapped: %s", path, strerror(errno)); break; }
    uint8_t *p = mmap(NULL, r->size, PROT_READ, flags[i], fd, 0);
    int me = errno;
    close(fd);
    if (p == MAP_FAILED) { not_applicable("the premise does not hold: %s could not be mapped: %s", path, strerror(me)); break; }
    m[i] = p;
    touch(p, 0, 1);
  }
  if (!m[0] || !m[1]) {
    for (int i = 0; i < 2; i++) if (m[i]) munmap(m[i], r->size);
    free(want); teardown(); return;
  }
  /* every image goes: a plain umount first (refused while a mapping holds it, as on mainline), then a lazy one */
  int plain_ok[2] = {0, 0};
  for (int i = 0; i < 2; i++) {
    char key[32];
    int e = do_umount(roots[i], 0);
    plain_ok[i] = !e;
    snprintf(key, sizeof key, "plainUmount%s", sides[i]);
    det_str(key, e ? strerror(e) : "succeeded");
    step("umount", "\"image\":\"%s\",\"flags\":\"normal\",\"errno\":%d", sides[i], e);
    if (!e) continue; /* unmounted under the mapping: gone all the same */
    e = do_umount(roots[i], MNT_DETACH);
    snprintf(key, sizeof key, "lazyUmount%s", sides[i]);
    det_str(key, e ? strerror(e) : "succeeded");
    step("umount", "\"image\":\"%s\",\"flags\":\"lazy\",\"errno\":%d", sides[i], e);
  }
  int left = mounted_at(MA) + mounted_at(MB);
  if (left) {
    not_applicable("the premise does not hold: %d of the 2 images still mounted after a normal and a lazy umount (details: plainUmount, lazyUmount)", left);
    for (int i = 0; i < 2; i++) munmap(m[i], r->size);
    free(want); teardown(); return;
  }
  /* caches dropped, then every page of both mappings: the file's bytes or SIGBUS, nothing else */
  struct outlive *o = mmap(NULL, sizeof *o, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  memset(o, 0, sizeof *o);
  pid_t kid = fork();
  if (kid == 0) { outlive_reader(o, m, want, r); _exit(0); }
  int status = 0, hung = 0;
  double t0 = now_ms();
  pid_t w = kid < 0 ? -1 : 0;
  while (kid > 0 && (w = waitpid(kid, &status, WNOHANG)) == 0 && now_ms() - t0 < OUTLIVE_WATCHDOG_S * 1000.0) usleep(100 * 1000);
  if (kid < 0) tool_error("fork: %s", strerror(errno));
  else if (w == 0) {
    char where[1024];
    stuck_where(kid, where, sizeof where);
    det_str("stuckReader", where);
    fail("after every image was unmounted, %s did not finish in %d s: the reader of the mappings is stuck in the kernel (%s)",
         OUTLIVE_PHASE[o->phase < 4 ? o->phase : 4], OUTLIVE_WATCHDOG_S, where);
    kill(kid, SIGKILL);
    hung = 1;
  } else if (!WIFEXITED(status) || WEXITSTATUS(status))
    fail("the reader of the mappings ended with %s %d while %s, after every image was unmounted",
         WIFSIGNALED(status) ? "signal" : "status", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), OUTLIVE_PHASE[o->phase < 4 ? o->phase : 4]);
  long resident = o->resident, bus[2] = {o->bus[0], o->bus[1]};
  det_int("residentPagesAfterDrop", resident);
  if (kid > 0 && !hung && o->phase == 4) {
    for (int i = 0; i < 2; i++) {
      const char *what = i ? "B mapping (MAP_PRIVATE)" : "A mapping (MAP_SHARED)";
      if (o->wrong[i])
        fail("%s: %ld of %lld pages read other bytes than the file's once every image was unmounted (first at offset %lld)", what, o->wrong[i], pages, o->first[i]);
      else if (!o->bus[i] && strcmp(o->hex[i], r->digest))
        fail("%s: reads %s %.16s once every image was unmounted, expected %.16s", what, digest_name(DIGEST), o->hex[i], r->digest);
      else if (!o->bus[i]) { VERIFIED++; VERIFY_BYTES += r->size; }
    }
    det_int("sigbusPagesA", bus[0]);
    det_int("sigbusPagesB", bus[1]);
  }
  munmap(o, sizeof *o);
  /* the last references: both superblocks go here */
  for (int i = 0; i < 2; i++) munmap(m[i], r->size);
  free(want);
  teardown();
  det_int("verified", VERIFIED);
  char how[96];
  if (!plain_ok[0] && !plain_ok[1]) snprintf(how, sizeof how, "a plain umount refused with EBUSY, then detached lazily");
  else snprintf(how, sizeof how, "a plain umount succeeded for %s", plain_ok[0] && plain_ok[1] ? "both" : plain_ok[0] ? "A" : "B");
  char sig[64] = "";
  if (bus[0] + bus[1]) snprintf(sig, sizeof sig, " or raised SIGBUS (%ld of them)", bus[0] + bus[1]);
  summary("A and B unmounted under a shared and a private mapping of %s (%s), caches dropped (%ld of %lld pages left resident): all pages of both read the file's bytes%s",
          r->path, how, resident, pages, sig);
}
