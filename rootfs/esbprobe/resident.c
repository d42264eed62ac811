/*
 * Which pages of each file are in the page cache, for explaining the gap
 * between the expected and the measured saving. mincore() on a fresh shared
 * mapping reports the page cache of the file the mapping resolves to, and
 * nothing here touches a page, so the walk itself does not change what it
 * measures.
 */
#include "esbprobe.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static unsigned char *g_vec;
static size_t g_veclen;

static void visit_resident(int dfd, const char *name, const char *rel, const struct stat *st) {
  const long pg = sysconf(_SC_PAGESIZE);
  size_t pages = (st->st_size + pg - 1) / pg, resident = 0;
  int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { file_error(rel, "open", errno, 0); return; }
  if (pages) {
    void *m = mmap(NULL, st->st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) { int err = errno; close(fd); file_error(rel, "mmap", err, 0); return; }
    if (pages > g_veclen) { free(g_vec); g_vec = malloc(pages); g_veclen = g_vec ? pages : 0; }
    int err = g_vec ? 0 : ENOMEM;
    if (!err && mincore(m, st->st_size, g_vec) != 0) err = errno;
    munmap(m, st->st_size);
    if (err) { close(fd); file_error(rel, "mincore", err, 0); return; }
    for (size_t i = 0; i < pages; i++) resident += g_vec[i] & 1;
  }
  close(fd);
  struct jb b = {0};
  jb_printf(&b, "{\"t\":\"resident\",\"image\":"); jb_str(&b, g_image);
  jb_path(&b, rel);
  jb_printf(&b, ",\"size\":%lld,\"pages\":%zu,\"resident\":%zu}", (long long)st->st_size, pages, resident);
  emit(&b);
}

int cmd_resident(const char *dir, const char *image) {
  double t0 = now_ms();
  g_image = image;
  walk_image(dir, visit_resident);
  struct jb b = {0};
  jb_printf(&b, "{\"t\":\"resident-done\",\"image\":"); jb_str(&b, image);
  jb_printf(&b, ",\"ms\":%.0f,\"up\":%.0f}", now_ms() - t0, up_ms());
  emit(&b);
  return 0;
}
