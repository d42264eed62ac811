/*
 * What a mapping of a shared file holds once every image it came from is
 * gone: each page reads the file's bytes or SIGBUS, never other bytes, a
 * hang or an oops.
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
  int left = (mountinfo_line(MA, NULL, 0) == 1) + (mountinfo_line(MB, NULL, 0) == 1);
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
