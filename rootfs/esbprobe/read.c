/* The read-all pass: every regular file of an image read through one access path, and optionally digested. */
#include "esbprobe.h"
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>

enum method { M_READ, M_MMAP, M_SENDFILE };
static enum method g_method;
static enum digest_kind g_digest;
static long g_files;
static unsigned long long g_bytes;
static uint8_t g_buf[1 << 17];
static int g_pipe[2] = {-1, -1};
static volatile uint8_t g_sink;
/* what the access path delivered of the current file; volatile because a
   SIGBUS leaves the touch loop by siglongjmp */
static volatile unsigned long long g_fbytes;
static const char *g_op;
static sigjmp_buf g_bus;
static volatile sig_atomic_t g_touching;

/* a page of a mapping the kernel cannot supply (EIO) is SIGBUS: it ends the
   file being touched, not the walk */
static void on_sigbus(int sig) {
  if (g_touching) siglongjmp(g_bus, 1);
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Touches one byte per page of a mapping, or digests it page by page, so that
   g_fbytes is what was really touched when a page fails. */
static int touch(const uint8_t *m, off_t size, struct digest *sh) {
  const off_t pg = sysconf(_SC_PAGESIZE);
  if (sigsetjmp(g_bus, 1)) { g_touching = 0; return EIO; }
  g_touching = 1;
  for (off_t o = 0; o < size; o += pg) {
    off_t n = size - o < pg ? size - o : pg;
    if (sh) digest_update(sh, m + o, n);
    else g_sink += m[o];
    g_fbytes = o + n;
  }
  g_touching = 0;
  return 0;
}

/* Reads one file through the access path and closes fd; 0, or the errno of
   the step named by g_op. */
static int consume(int fd, off_t size, struct digest *sh) {
  int err = 0;
  if (g_method == M_READ) {
    ssize_t n;
    g_op = "read";
    while ((n = read(fd, g_buf, sizeof g_buf)) > 0) { if (sh) digest_update(sh, g_buf, n); g_fbytes += n; }
    if (n < 0) err = errno;
    close(fd);
    return err;
  }
  if (g_method == M_MMAP) {
    g_op = "mmap";
    if (size == 0) { close(fd); return 0; }
    uint8_t *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) err = errno;
    /* the pages are touched after the descriptor is gone, as the dynamic
       loader does with every shared library */
    close(fd);
    if (err) return err;
    g_op = "touch";
    err = touch(m, size, sh);
    munmap(m, size);
    return err;
  }
  /* sendfile into a pipe, drained by read(2): the data really moves */
  off_t off = 0;
  g_op = "sendfile";
  while (off < size && !err) {
    ssize_t n = sendfile(g_pipe[1], fd, &off, 65536);
    if (n <= 0) { err = n < 0 ? errno : 0; break; }
    while (n > 0) {
      ssize_t r = read(g_pipe[0], g_buf, n < (ssize_t)sizeof g_buf ? n : (ssize_t)sizeof g_buf);
      if (r <= 0) { err = r < 0 ? errno : EIO; break; }
      if (sh) digest_update(sh, g_buf, r);
      g_fbytes += r;
      n -= r;
    }
  }
  close(fd);
  return err;
}

/* one line per regular file, whatever happened to it */
static void visit_read(int dfd, const char *name, const char *rel, const struct stat *st) {
  struct digest sh;
  g_files++;
  g_fbytes = 0;
  int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { file_error(rel, "open", errno, 0); return; }
  digest_init(&sh, g_digest);
  int err = consume(fd, st->st_size, g_digest ? &sh : NULL);
  g_bytes += g_fbytes;
  if (err) { file_error(rel, g_op, err, g_fbytes); return; }
  struct jb b = {0};
  jb_printf(&b, "{\"t\":\"file\",\"image\":"); jb_str(&b, g_image);
  jb_path(&b, rel);
  jb_printf(&b, ",\"size\":%lld,\"bytes\":%llu", (long long)st->st_size, g_fbytes);
  if (g_digest) {
    char hex[DIGEST_HEX];
    digest_hex(&sh, hex);
    jb_printf(&b, ",\"%s\":\"%s\"", digest_name(g_digest), hex);
  }
  jb_printf(&b, "}");
  emit(&b);
}

int cmd_read(const char *method, const char *dir, const char *image, enum digest_kind digest) {
  if (!strcmp(method, "read")) g_method = M_READ;
  else if (!strcmp(method, "mmap")) g_method = M_MMAP;
  else if (!strcmp(method, "sendfile")) g_method = M_SENDFILE;
  else { fprintf(stderr, "unknown method %s\n", method); return 2; }
  if (g_method == M_SENDFILE && pipe(g_pipe) != 0) { perror("pipe"); return 1; }
  if (g_method == M_MMAP) {
    struct sigaction sa = {.sa_handler = on_sigbus};
    sigaction(SIGBUS, &sa, NULL);
  }
  g_digest = digest; g_image = image;
  double t0 = now_ms();
  int rc = walk_image(dir, visit_read);
  struct jb b = {0};
  jb_printf(&b, "{\"t\":\"read\",\"image\":"); jb_str(&b, image);
  jb_printf(&b, ",\"method\":"); jb_str(&b, method);
  jb_printf(&b, ",\"files\":%ld,\"bytes\":%llu,\"errors\":%ld,\"ms\":%.0f,\"walk\":%d,\"up\":%.0f}", g_files, g_bytes, g_errors, now_ms() - t0, rc, up_ms());
  emit(&b);
  return 0;
}
