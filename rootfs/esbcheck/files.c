/*
 * Expected bytes and verified reads: the digests the reference pass took
 * with sharing off (/tmp/ref-A.txt, /tmp/ref-B.txt), each file read by one
 * access path and compared with them, and the proof every check starts
 * with that sharing is in effect at all.
 */
#include "esbcheck.h"
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

enum digest_kind DIGEST = DIGEST_XXH64;
struct refs REF_A, REF_B;
struct ref **SHARED;
int NSHARED;
long VERIFIED, VERIFY_BYTES;
const char *METHOD[] = {"read", "mmap", "sendfile", "pread-shuffled"};
static uint8_t BUF[1 << 17];

struct ref *ref_find(struct refs *r, const char *path) {
  for (int i = 0; i < r->n; i++) if (!strcmp(r->v[i].path, path)) return &r->v[i];
  return NULL;
}

/* lines "DIGEST SIZE HEXPATH": the name in hex, so any byte (a newline) survives */
int load_refs(const char *file, struct refs *r) {
  FILE *f = fopen(file, "r");
  if (!f) return -1;
  char line[16384], hexpath[16384], dg[DIGEST_HEX];
  long long size;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "%64s %lld %16383s", dg, &size, hexpath) != 3) continue;
    size_t n = strlen(hexpath) / 2;
    char *path = malloc(n + 1);
    for (size_t i = 0; i < n; i++) { unsigned v; sscanf(hexpath + 2 * i, "%2x", &v); path[i] = (char)v; }
    path[n] = 0;
    r->v = realloc(r->v, sizeof *r->v * (r->n + 1));
    r->v[r->n].path = path;
    r->v[r->n].size = size;
    snprintf(r->v[r->n].digest, DIGEST_HEX, "%s", dg);
    r->n++;
  }
  fclose(f);
  return 0;
}

static int by_size_desc(const void *a, const void *b) {
  const struct ref *x = *(struct ref *const *)a, *y = *(struct ref *const *)b;
  return x->size < y->size ? 1 : x->size > y->size ? -1 : strcmp(x->path, y->path);
}

static int load_all_refs(void) {
  if (load_refs("/tmp/ref-A.txt", &REF_A) || load_refs("/tmp/ref-B.txt", &REF_B)) return -1;
  for (int i = 0; i < REF_A.n; i++) {
    struct ref *b = ref_find(&REF_B, REF_A.v[i].path);
    if (b && REF_A.v[i].size > 0 && b->size == REF_A.v[i].size && !strcmp(b->digest, REF_A.v[i].digest)) {
      SHARED = realloc(SHARED, sizeof *SHARED * (NSHARED + 1));
      SHARED[NSHARED++] = &REF_A.v[i];
    }
  }
  qsort(SHARED, NSHARED, sizeof *SHARED, by_size_desc);
  return 0;
}

/* the largest shared file whose size is not a multiple of the page size, else the second largest */
struct ref *shared_odd(void) {
  for (int i = 0; i < NSHARED; i++) if (SHARED[i]->size % 4096) return SHARED[i];
  return NSHARED > 1 ? SHARED[1] : SHARED[0];
}

uint64_t rng_next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* 16 KiB chunks in a shuffled order into one buffer: reads that defeat readahead */
static int read_shuffled(int fd, off_t size, struct digest *d) {
  int err = 0;
  uint8_t *all = size ? malloc(size) : NULL;
  long chunks = (size + 16383) / 16384;
  long *order = chunks ? malloc(sizeof *order * chunks) : NULL;
  uint64_t seed = (uint64_t)size * 2654435761u + (uint64_t)getpid();
  for (long i = 0; i < chunks; i++) order[i] = i;
  for (long i = chunks - 1; i > 0; i--) { long j = rng_next(&seed) % (i + 1), t = order[i]; order[i] = order[j]; order[j] = t; }
  for (long i = 0; i < chunks && !err; i++) {
    off_t off = (off_t)order[i] * 16384;
    size_t want = size - off < 16384 ? size - off : 16384;
    ssize_t r = pread(fd, all + off, want, off);
    if (r < 0) err = errno;
    else if ((size_t)r != want) err = EIO;
  }
  if (!err && size) digest_update(d, all, size);
  free(all); free(order);
  return err;
}

static int read_sendfile(int fd, off_t size, struct digest *d) {
  int pp[2] = {-1, -1}, err = 0;
  if (pipe(pp) != 0) return errno;
  off_t off = 0;
  while (!err && off < size) {
    ssize_t n = sendfile(pp[1], fd, &off, 65536);
    if (n < 0) { err = errno; break; }
    if (n == 0) break;
    for (ssize_t left = n; left > 0;) {
      ssize_t r = read(pp[0], BUF, left < (ssize_t)sizeof BUF ? left : (ssize_t)sizeof BUF);
      if (r <= 0) { err = r < 0 ? errno : EIO; break; }
      digest_update(d, BUF, r);
      left -= r;
    }
  }
  close(pp[0]); close(pp[1]);
  return err;
}

/* A page of a mapping the kernel cannot supply (a read error, a corrupt
   image) is SIGBUS: inside guarded() it ends the access with EIO, as read(2)
   reports the same error, so the caller judges it like a failed read. A
   SIGBUS anywhere else ends the check through the fatal handler (report.c). */
static sigjmp_buf BUS_JMP;
static volatile sig_atomic_t BUS_ARMED;

static void on_bus(int sig) {
  if (BUS_ARMED) siglongjmp(BUS_JMP, 1);
  signal(sig, SIG_DFL);
  raise(sig);
}

int guarded(void (*fn)(void *), void *arg) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_bus;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &old);
  int err = 0;
  if (sigsetjmp(BUS_JMP, 1) == 0) {
    BUS_ARMED = 1;
    fn(arg);
  } else {
    err = EIO;
  }
  BUS_ARMED = 0;
  sigaction(SIGBUS, &old, NULL);
  return err;
}

struct digest_job { struct digest *d; const uint8_t *p; off_t size; };
static void digest_job(void *arg) { struct digest_job *j = arg; digest_update(j->d, j->p, j->size); }
static int digest_mapping(struct digest *d, const uint8_t *p, off_t size) {
  struct digest_job j = {d, p, size};
  return guarded(digest_job, &j);
}

/* mmap touches the pages after the descriptor is closed (as the dynamic loader does) */
int hash_fd(int fd, enum method m, char hex[DIGEST_HEX], long long *size_out) {
  struct stat st;
  if (fstat(fd, &st) != 0) { int e = errno; close(fd); return e; }
  off_t size = st.st_size;
  int err = 0;
  struct digest d;
  digest_init(&d, DIGEST);
  if (size_out) *size_out = size;
  if (m == M_READ) {
    ssize_t n;
    while ((n = read(fd, BUF, sizeof BUF)) > 0) digest_update(&d, BUF, n);
    if (n < 0) err = errno;
  } else if (m == M_MMAP) {
    if (size > 0) {
      uint8_t *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) err = errno;
      close(fd);
      fd = -1;
      if (!err) { err = digest_mapping(&d, p, size); munmap(p, size); }
    }
  } else if (m == M_SENDFILE) {
    err = read_sendfile(fd, size, &d);
  } else {
    err = read_shuffled(fd, size, &d);
  }
  if (fd >= 0) close(fd);
  char tmp[DIGEST_HEX];
  digest_hex(&d, tmp);
  if (!err) memcpy(hex, tmp, DIGEST_HEX);
  return err;
}

int hash_path(const char *path, enum method m, char hex[DIGEST_HEX], long long *size_out) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return errno;
  return hash_fd(fd, m, hex, size_out);
}

/* Reads root/ref->path by `m` and compares with the reference; a mismatch fails the check. */
int verify(const char *image, const char *root, const struct ref *r, enum method m) {
  char path[4096], hex[DIGEST_HEX] = "";
  long long size = -1;
  snprintf(path, sizeof path, "%s/%s", root, r->path);
  int err = hash_path(path, m, hex, &size);
  if (err) {
    fail("%s %s by %s: %s", image, r->path, METHOD[m], strerror(err));
    step("verify", "\"image\":\"%s\",\"path\":\"%s\",\"method\":\"%s\",\"ok\":false,\"errno\":%d", image, esc(r->path), METHOD[m], err);
    return -1;
  }
  if (strcmp(hex, r->digest) || size != r->size) {
    fail("%s %s by %s read back %s %.16s (size %lld), expected %.16s (size %lld)", image, r->path, METHOD[m], digest_name(DIGEST), hex, size, r->digest, r->size);
    step("verify", "\"image\":\"%s\",\"path\":\"%s\",\"method\":\"%s\",\"ok\":false,\"%s\":\"%s\",\"expected\":\"%s\"", image, esc(r->path), METHOD[m], digest_name(DIGEST), hex, r->digest);
    return -1;
  }
  VERIFIED++;
  VERIFY_BYTES += size;
  return 0;
}

/* the whole of a mapping against the reference; a page the kernel cannot supply (SIGBUS) fails it */
int verify_map(const char *what, const uint8_t *p, const struct ref *r) {
  char hex[DIGEST_HEX];
  struct digest d;
  digest_init(&d, DIGEST);
  int err = digest_mapping(&d, p, r->size);
  digest_hex(&d, hex);
  if (err) {
    fail("%s: mapping of %s: SIGBUS, the kernel could not supply a page of a clean image's file", what, r->path);
    step("verify", "\"what\":\"%s\",\"path\":\"%s\",\"method\":\"mapping\",\"ok\":false,\"sigbus\":true", what, esc(r->path));
    return -1;
  }
  if (strcmp(hex, r->digest)) {
    fail("%s: mapping of %s reads %s %.16s, expected %.16s", what, r->path, digest_name(DIGEST), hex, r->digest);
    step("verify", "\"what\":\"%s\",\"path\":\"%s\",\"method\":\"mapping\",\"ok\":false,\"%s\":\"%s\",\"expected\":\"%s\"", what, esc(r->path), digest_name(DIGEST), hex, r->digest);
    return -1;
  }
  VERIFIED++;
  VERIFY_BYTES += r->size;
  return 0;
}

uint8_t *map_file(const char *root, const struct ref *r, int flags, int prot, int keep_fd, int *fd_out) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", root, r->path);
  int fd = open(path, O_RDONLY);
  if (fd < 0) { fail("open %s: %s", path, strerror(errno)); return NULL; }
  uint8_t *p = mmap(NULL, r->size, prot, flags, fd, 0);
  if (p == MAP_FAILED) { fail("mmap %s: %s", path, strerror(errno)); close(fd); return NULL; }
  if (keep_fd && fd_out) *fd_out = fd; else close(fd);
  return p;
}

static volatile uint8_t SINK;
struct touch_job { const uint8_t *p; long long from, to; };
static void touch_job(void *arg) { struct touch_job *j = arg; for (long long o = j->from; o < j->to; o += 4096) SINK += j->p[o]; }
/* faults in every page of [from, to); a page the kernel cannot supply fails the check */
int touch(const uint8_t *p, long long from, long long to) {
  struct touch_job j = {p, from, to};
  int err = guarded(touch_job, &j);
  if (err) fail("faulting in a mapping of a clean image's file: SIGBUS, the kernel could not supply a page");
  return err;
}

/* pages of a file in the page cache, seen through `root` (mincore: nothing is read) */
long resident_pages(const char *root, const struct ref *r) {
  int fd = -1;
  uint8_t *p = map_file(root, r, MAP_SHARED, PROT_READ, 0, &fd);
  if (!p) return -1;
  long pages = (r->size + 4095) / 4096, n = 0;
  unsigned char *vec = malloc(pages);
  if (mincore(p, r->size, vec) == 0) for (long i = 0; i < pages; i++) n += vec[i] & 1;
  else n = -1;
  free(vec);
  munmap(p, r->size);
  return n;
}

struct counters *shm_counters(void) {
  void *p = mmap(NULL, sizeof(struct counters), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  memset(p, 0, sizeof(struct counters));
  return p;
}

/* worker-side verify: counts, remembers the first problem, and still emits a step */
int worker_verify(struct counters *k, int img, const char *root, const struct ref *r, enum method m) {
  char path[4096], hex[DIGEST_HEX] = "";
  long long size = -1;
  snprintf(path, sizeof path, "%s/%s", root, r->path);
  int err = hash_path(path, m, hex, &size);
  __sync_fetch_and_add(&k->ops[img][m], 1);
  if (!err && !strcmp(hex, r->digest) && size == r->size) { __sync_fetch_and_add(&k->bytes, size); return 0; }
  if (__sync_fetch_and_add(&k->failures, 1) == 0)
    snprintf(k->first, sizeof k->first, "%s %s by %s: %s", img ? "B" : "A", r->path, METHOD[m], err ? strerror(err) : "wrong bytes");
  step("verify", "\"image\":\"%s\",\"path\":\"%s\",\"method\":\"%s\",\"ok\":false,\"errno\":%d,\"%s\":\"%s\"", img ? "B" : "A", esc(r->path), METHOD[m], err, digest_name(DIGEST), hex);
  return -1;
}

void det_counters(struct counters *k) {
  char tmp[1024];
  int n = snprintf(tmp, sizeof tmp, "{");
  for (int i = 0; i < 2; i++) for (int m = 0; m < M_COUNT; m++)
    n += snprintf(tmp + n, sizeof tmp - n, "%s\"%s-%s\":%ld", n > 1 ? "," : "", i ? "B" : "A", METHOD[m], k->ops[i][m]);
  snprintf(tmp + n, sizeof tmp - n, "}");
  det_raw("ops", tmp);
  det_int("failures", k->failures);
  det_int("verifiedMiB", k->bytes >> 20);
}

/*
 * Common start: refs, shared files, and proof that sharing is in effect:
 * after reading the largest shared file through A (caches dropped before),
 * a fresh mapping of it through B must find its pages resident. Otherwise
 * every check would pass without testing sharing at all: not applicable.
 * Leaves A and B mounted in one domain when mount_both.
 */
int setup(int need_shared, int mount_both) {
  if (load_all_refs() != 0) { tool_error("no reference digests (/tmp/ref-*.txt): esbcheck refs did not run"); return -1; }
  if (need_shared && NSHARED == 0) { not_applicable("images A and B have no identical file"); return -1; }
  if (!sharing_configured()) { not_applicable("sharing is off (no esb.share mount options for this kernel)"); return -1; }
  det_int("sharedFiles", NSHARED);
  if (NSHARED == 0) return 0;
  if (mount_shared(DEV_A, MA, "esb")) return -1;
  if (mount_shared(DEV_B, MB, "esb")) { umount_quiet(MA); return -1; }
  struct ref *r = SHARED[0];
  long pages = (r->size + 4095) / 4096;
  drop_caches("3");
  int bad = verify("A", MA, r, M_READ);
  long res = resident_pages(MB, r);
  det_int("probeResidentThroughB", res);
  det_int("probePages", pages);
  if (bad || res * 2 <= pages) {
    if (!bad) not_applicable("sharing is not in effect: after reading %s through A, %ld of its %ld pages are resident through B", r->path, res, pages);
    teardown();
    return -1;
  }
  drop_caches("3");
  if (!mount_both) teardown();
  return 0;
}
