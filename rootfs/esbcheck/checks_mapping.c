/* Checks of what a mapping, an unmount, fadvise and overlayfs copy-up do to a shared file. */
#include "esbcheck.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void check_private_write(void) {
  if (setup(1, 1)) return;
  struct ref *files[2] = {SHARED[0], shared_odd()};
  for (int fi = 0; fi < (files[1] == files[0] ? 1 : 2); fi++) {
    struct ref *r = files[fi];
    long long pages = (r->size + 4095) / 4096;
    verify("A", MA, r, M_READ);
    verify("B", MB, r, M_READ);
    /* another reader of A: a shared read-only mapping, faulted in before the write */
    uint8_t *reader = map_file(MA, r, MAP_SHARED, PROT_READ, 0, NULL);
    if (!reader) break;
    touch(reader, 0, r->size);
    if (mprotect(reader, r->size, PROT_READ | PROT_WRITE) == 0) fail("mprotect(PROT_WRITE) on a MAP_SHARED mapping of %s succeeded", r->path);
    /* the writer: private writable mapping, fd closed, every page read then written */
    uint8_t *w = map_file(MA, r, MAP_PRIVATE, PROT_READ | PROT_WRITE, 0, NULL);
    if (!w) { munmap(reader, r->size); break; }
    verify_map("writer before writing", w, r);
    for (long long pg = 0; pg < pages; pg++) {
      long long o = pg * 4096, end = o + 4096 < r->size ? o + 4096 : r->size;
      memset(w + o, 0xA5, end - o > 64 ? 64 : end - o);
      w[end - 1] = 0x5A;
    }
    int seen = 1;
    for (long long pg = 0; pg < pages && seen; pg++) if (w[pg * 4096] != 0xA5) seen = 0;
    if (!seen) fail("the writer does not see its own private write to %s", r->path);
    /* while the private copy lives: everyone else sees the original */
    for (int m = 0; m < M_COUNT; m++) { verify("B", MB, r, m); verify("A", MA, r, m); }
    verify_map("other reader of A (MAP_SHARED)", reader, r);
    uint8_t *fresh = map_file(MB, r, MAP_PRIVATE, PROT_READ, 0, NULL);
    if (fresh) { verify_map("fresh mapping of B", fresh, r); munmap(fresh, r->size); }
    pid_t pid = fork();
    if (pid == 0) {
      /* another process of A, through read and a new mapping */
      uint8_t *q = map_file(MA, r, MAP_PRIVATE, PROT_READ, 0, NULL);
      int bad = !q || verify_map("child mapping of A", q, r) || verify("A", MA, r, M_READ);
      _exit(bad);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status)) fail("a second process reading %s through A saw other bytes", r->path);
    /* dropping the private copy brings the file's bytes back */
    if (madvise(w, r->size, MADV_DONTNEED) != 0) fail("madvise(MADV_DONTNEED): %s", strerror(errno));
    verify_map("writer after MADV_DONTNEED", w, r);
    memset(w, 0x3C, r->size < 4096 ? r->size : 4096); /* write again, then go */
    munmap(w, r->size);
    munmap(reader, r->size);
    drop_caches("1");
    verify("B", MB, r, M_MMAP);
    verify("A", MA, r, M_READ);
    step("file-done", "\"path\":\"%s\",\"size\":%lld", esc(r->path), r->size);
  }
  det_int("verified", VERIFIED);
  summary("%ld reads and mappings of %d shared file(s) verified while private copies lived", VERIFIED, files[1] == files[0] ? 1 : 2);
  teardown();
}

void check_umount_shared(void) {
  if (setup(1, 0)) return;
  struct ref *r = SHARED[0];
  long long half = (r->size / 2) & ~4095LL;
  struct mem base = settle("3");
  det_mem("baseline", base);
  if (mount_shared(DEV_A, MA, "esb") || mount_shared(DEV_B, MB, "esb")) { teardown(); return; }
  /* A fills the shared copy; B maps it and faults only the first half */
  verify("A", MA, r, M_READ);
  int fdB = -1;
  uint8_t *mB = map_file(MB, r, MAP_SHARED, PROT_READ, 1, &fdB);
  if (!mB) { teardown(); return; }
  touch(mB, 0, half);

  /* 1. normal umount of A: nothing of A is open */
  int e = do_umount(MA, 0);
  step("umount-A", "\"flags\":\"normal\",\"errno\":%d", e);
  if (e) fail("umount %s with nothing of A open: %s", MA, strerror(e));
  drop_caches("1"); /* the unmapped half goes; B must read it back through its own inode */
  verify_map("B mapping after A unmounted", mB, r);
  { uint8_t *all = malloc(r->size); ssize_t n = pread(fdB, all, r->size, 0);
    if (n != r->size) fail("pread of B's %s after A unmounted: %zd of %lld bytes", r->path, n, r->size);
    else verify_map("B pread after A unmounted", all, r);
    free(all); }
  verify("B", MB, r, M_READ);

  /* 2. lazy umount of A while A's file is open and mapped */
  if (mount_shared(DEV_A, MA, "esb")) { munmap(mB, r->size); close(fdB); teardown(); return; }
  int fdA = -1;
  uint8_t *mA = map_file(MA, r, MAP_SHARED, PROT_READ, 1, &fdA);
  if (mA) touch(mA, 0, half);
  e = do_umount(MA, MNT_DETACH);
  step("umount-A", "\"flags\":\"lazy\",\"errno\":%d", e);
  if (e) fail("umount -l %s: %s", MA, strerror(e));
  drop_caches("1");
  if (mA) {
    verify_map("A mapping after lazy umount", mA, r);
    uint8_t *all = malloc(r->size);
    ssize_t n = pread(fdA, all, r->size, 0);
    if (n != r->size) fail("pread of A's %s after lazy umount: %zd of %lld bytes", r->path, n, r->size);
    else verify_map("A pread after lazy umount", all, r);
    free(all);
  }
  verify_map("B mapping after lazy umount of A", mB, r);
  verify("B", MB, r, M_SENDFILE);
  if (mA) { munmap(mA, r->size); close(fdA); } /* A's superblock goes away here */
  drop_caches("1");
  verify_map("B mapping after A is gone", mB, r);
  verify("B", MB, r, M_MMAP);

  /* 3. a mapping of A whose descriptor is closed still holds A: a normal umount is refused (EBUSY) */
  if (mount_shared(DEV_A, MA, "esb")) { munmap(mB, r->size); close(fdB); teardown(); return; }
  uint8_t *mC = map_file(MA, r, MAP_SHARED, PROT_READ, 0, NULL);
  e = do_umount(MA, 0);
  step("umount-A", "\"flags\":\"normal-while-mapped\",\"errno\":%d", e);
  det_str("umountWhileMapped", e == 0 ? "succeeded" : strerror(e));
  drop_caches("1");
  int mapped_ok = !mC || verify_map(e == 0 ? "A mapping after A was unmounted under it" : "A mapping (umount refused)", mC, r) == 0;
  if (mC) munmap(mC, r->size);
  if (e == 0 && mapped_ok)
    finding("umount of A succeeded while a mapping of its file lived (descriptor closed): the mapping does not pin A's mount, though it kept reading right (a kernel whose mapping pins the mount, as mainline's does, refuses it with EBUSY)");
  else if (e && e != EBUSY)
    fail("umount of A while a mapping of its file lived: %s, expected EBUSY", strerror(e));
  if (e) { e = do_umount(MA, 0); if (e) fail("umount %s after the mapping went: %s", MA, strerror(e)); }

  /* 4. the survivor goes too: nothing may be left */
  munmap(mB, r->size);
  close(fdB);
  e = do_umount(MB, 0);
  if (e) fail("umount %s: %s", MB, strerror(e));
  judge_leftovers(base, 4, r->size >> 10);
  det_int("verified", VERIFIED);
  summary("the survivor read right after normal, lazy and mapped unmounts; %s", LEFTOVER_SUMMARY);
  teardown();
}

void check_fadvise(void) {
  if (setup(1, 1)) return;
  struct ref *r = SHARED[0];
  long fkib = r->size >> 10, pages = (r->size + 4095) / 4096;
  det_str("file", r->path);
  det_int("fileKiB", fkib);
  step("fadvise-file", "\"file\":\"%s\"", r->path);
  struct mem s0 = settle("3");
  verify("B", MB, r, M_READ);
  struct mem s1 = settle(NULL);
  verify("A", MA, r, M_READ);
  struct mem s2 = settle(NULL);
  long resB = resident_pages(MB, r), resA = resident_pages(MA, r);
  det_int("afterBKiB", s1.cache - s0.cache);
  det_int("afterAKiB", s2.cache - s0.cache);
  det_int("residentPagesBefore", resB);
  det_int("pages", pages);
  if (s2.cache - s1.cache > fkib / 2) {
    not_applicable("reading through A after B grew the page cache by %ld KiB of a %ld KiB file: not shared on this kernel", s2.cache - s1.cache, fkib);
    teardown();
    return;
  }
  if (resA != resB) step("resident-differs", "\"A\":%ld,\"B\":%ld", resA, resB);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", MA, r->path);
  int fd = open(path, O_RDONLY);
  int e = fd < 0 ? errno : posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  if (fd >= 0) close(fd);
  if (e) fail("posix_fadvise(DONTNEED) on A's %s: %s", r->path, strerror(e));
  struct mem s3 = settle(NULL);
  long after = resident_pages(MB, r), drop = s2.cache - s3.cache;
  det_int("droppedKiB", drop);
  det_int("residentPagesAfterThroughB", after);
  det_int("residentPagesAfterThroughA", resident_pages(MA, r));
  if (drop < fkib * 9 / 10) fail("DONTNEED through A dropped %ld KiB of page cache, expected about %ld KiB (at least 90%%)", drop, fkib);
  if (after > pages / 100) fail("%ld of %ld pages still resident through B after DONTNEED through A", after, pages);
  verify("B", MB, r, M_MMAP);
  struct mem s4 = settle(NULL);
  det_int("rereadKiB", s4.cache - s3.cache);
  verify("A", MA, r, M_SENDFILE);
  verify("B", MB, r, M_READ);
  summary("DONTNEED through A dropped %ld of the file's %ld KiB, %ld pages left through B; read back right", drop, fkib, after);
  teardown();
}

static int mount_overlay(const char *side, const char *lower, const char *dir) {
  char up[128], opts[512];
  snprintf(up, sizeof up, "/tmp/up-%s", side);
  mkdir(up, 0755);
  if (mount("tmpfs", up, "tmpfs", 0, NULL) != 0) return errno;
  char u[160], w[160];
  snprintf(u, sizeof u, "%s/u", up); snprintf(w, sizeof w, "%s/w", up);
  mkdir(u, 0755); mkdir(w, 0755); mkdir(dir, 0755);
  snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", lower, u, w);
  if (mount("overlay", dir, "overlay", 0, opts) != 0) { int e = errno; umount2(up, MNT_DETACH); return e; }
  return 0;
}
/* the file as it should read after writing `pat` at three places and one mmap store */
static void patch_expect(uint8_t *buf, long long size, uint8_t pat) {
  long long at[3] = {0, size / 2, size - 5};
  for (int i = 0; i < 3; i++) for (int j = 0; j < 5 && at[i] + j < size; j++) buf[at[i] + j] = pat;
  buf[size / 3] = pat ^ 0xff;
}
static int write_through(const char *root, const struct ref *r, uint8_t pat) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", root, r->path);
  int fd = open(path, O_RDWR);
  if (fd < 0) { fail("open O_RDWR %s (copy-up): %s", path, strerror(errno)); return -1; }
  uint8_t p5[5];
  memset(p5, pat, 5);
  long long at[3] = {0, r->size / 2, r->size - 5};
  for (int i = 0; i < 3; i++) if (pwrite(fd, p5, 5, at[i]) != 5) { fail("pwrite %s: %s", path, strerror(errno)); close(fd); return -1; }
  uint8_t *m = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) { fail("mmap(MAP_SHARED, PROT_WRITE) of the copied-up %s: %s", path, strerror(errno)); close(fd); return -1; }
  m[r->size / 3] = pat ^ 0xff;
  msync(m, r->size, MS_SYNC);
  munmap(m, r->size);
  fsync(fd);
  close(fd);
  return 0;
}
void check_copy_up(void) {
  if (setup(1, 1)) return;
  int e1 = mount_overlay("a", MA, "/mnt/oa"), e2 = e1 ? 0 : mount_overlay("b", MB, "/mnt/ob");
  if (e1 || e2) {
    if (e1 == ENODEV || e2 == ENODEV) not_applicable("no overlayfs in this kernel");
    else fail("overlay mount: %s", strerror(e1 ? e1 : e2));
    umount_quiet("/mnt/oa"); umount_quiet("/tmp/up-a"); umount_quiet("/tmp/up-b");
    teardown();
    return;
  }
  struct ref *r = SHARED[0];
  det_str("file", r->path);
  verify("overlay A", "/mnt/oa", r, M_READ);
  verify("overlay B", "/mnt/ob", r, M_MMAP);
  /* a reader that mapped the file through overlay A before the copy-up */
  int fdH = -1;
  uint8_t *held = map_file("/mnt/oa", r, MAP_SHARED, PROT_READ, 1, &fdH);
  if (held) touch(held, 0, r->size);
  uint8_t *want = malloc(r->size);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", MA, r->path);
  int fd = open(path, O_RDONLY);
  if (fd < 0 || pread(fd, want, r->size, 0) != r->size) fail("reading the original %s", path);
  if (fd >= 0) close(fd);
  if (!write_through("/mnt/oa", r, 0xC3)) {
    struct ref mod = *r;
    patch_expect(want, r->size, 0xC3);
    digest_of(DIGEST, want, r->size, mod.digest);
    for (int round = 0; round < 2; round++) {
      for (int m = 0; m < M_COUNT; m++) {
        verify("overlay A (copied up)", "/mnt/oa", &mod, m);
        verify("overlay B", "/mnt/ob", r, m);
        verify("A", MA, r, m);
        verify("B", MB, r, m);
      }
      if (held) verify_map("mapping made before the copy-up", held, r);
      drop_caches("3");
    }
    /* and the other way round: overlay B writes too, each keeps its own */
    struct ref modb = *r;
    uint8_t *wantb = malloc(r->size);
    snprintf(path, sizeof path, "%s/%s", MB, r->path);
    fd = open(path, O_RDONLY);
    if (fd < 0 || pread(fd, wantb, r->size, 0) != r->size) fail("reading the original %s", path);
    if (fd >= 0) close(fd);
    if (!write_through("/mnt/ob", r, 0x3C)) {
      patch_expect(wantb, r->size, 0x3C);
      digest_of(DIGEST, wantb, r->size, modb.digest);
      verify("overlay B (copied up)", "/mnt/ob", &modb, M_READ);
      verify("overlay A (copied up)", "/mnt/oa", &mod, M_MMAP);
      verify("A", MA, r, M_READ);
      verify("B", MB, r, M_MMAP);
    }
    free(wantb);
  }
  free(want);
  if (held) { munmap(held, r->size); close(fdH); }
  det_int("verified", VERIFIED);
  umount_quiet("/mnt/oa"); umount_quiet("/mnt/ob");
  umount_quiet("/tmp/up-a"); umount_quiet("/tmp/up-b");
  summary("each overlay's writer saw its bytes; the other overlay, both EROFS mounts and an earlier mapping kept the original");
  teardown();
}


#define PROVES_VERIFY_TREE "Every file of a reference list reads back its exact bytes under a directory through read, mmap, sendfile, shuffled pread and a whole-file mapping."
void check_verify_tree(const char *root, const char *refs) {
  check_begin("verify-tree", PROVES_VERIFY_TREE);
  /* run on a host, whose kernel log says nothing of a kernel under test */
  if (C.kmsg >= 0) close(C.kmsg);
  C.kmsg = -1;
  struct refs list = {0};
  if (load_refs(refs, &list)) { tool_error("cannot read the reference list %s", refs); return; }
  if (!list.n) { not_applicable("the reference list %s names no file", refs); return; }
  for (int i = 0; i < list.n; i++) {
    struct ref *r = &list.v[i];
    for (int m = 0; m < M_COUNT; m++) verify("T", root, r, (enum method)m);
    if (r->size <= 0) continue;
    /* mapped at the size the reference says: a shorter file leaves pages the kernel cannot supply */
    uint8_t *p = map_file(root, r, MAP_SHARED, PROT_READ, 0, NULL);
    if (p) { verify_map("whole-file mapping", p, r); munmap(p, r->size); }
  }
  det_int("files", list.n);
  det_int("verified", VERIFIED);
  summary("%d file(s) read back right by every path (%ld reads)", list.n, VERIFIED);
}
