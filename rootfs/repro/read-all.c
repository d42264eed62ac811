/*
 * read-all: images A and B mounted with sharing as the run mounted them;
 * every regular file of A, then of B, read through them (REPRO_ACCESS:
 * read, mmap or sendfile) and compared byte for byte with the same image
 * mounted again from a second disk without any sharing option (vdc = A,
 * vdd = B). A file that differs is data corruption.
 */
#include <ftw.h>
#include <sys/sendfile.h>

#define CHUNK 65536
static struct {
  const char *side, *root, *ref;
  long files, wrong;
  long long bytes;
} walk;
static int pipe_fd[2] = {-1, -1};

/* `n` bytes of `fd` at `off` through the access path under test, into `buf` */
static ssize_t read_through(int fd, const uint8_t *map, long long off, uint8_t *buf, size_t n) {
  if (!strcmp(REPRO_ACCESS, "mmap")) { memcpy(buf, map + off, n); return (ssize_t)n; }
  if (!strcmp(REPRO_ACCESS, "sendfile")) {
    off_t o = off;
    ssize_t sent = sendfile(pipe_fd[1], fd, &o, n), got = 0;
    while (sent > 0 && got < sent) { ssize_t r = read(pipe_fd[0], buf + got, sent - got); if (r <= 0) return -1; got += r; }
    return sent;
  }
  return pread(fd, buf, n, off);
}

static int compare_file(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)ftw;
  if (type != FTW_F || !S_ISREG(st->st_mode)) return 0;
  const char *rel = path + strlen(walk.root) + 1;
  char ref[4096];
  snprintf(ref, sizeof ref, "%s/%s", walk.ref, rel);
  int fd = open(path, O_RDONLY), rfd = open(ref, O_RDONLY);
  long long size = st->st_size;
  uint8_t *map = NULL;
  if (fd >= 0 && size && !strcmp(REPRO_ACCESS, "mmap")) {
    map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) map = NULL;
  }
  static uint8_t got[CHUNK], want[CHUNK];
  long long first = -1, differ = 0;
  const char *problem = fd < 0 || rfd < 0 ? "cannot be opened" : NULL;
  if (!problem && size && !strcmp(REPRO_ACCESS, "mmap") && !map) problem = "cannot be mapped";
  for (long long off = 0; !problem && off < size; off += CHUNK) {
    size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
    if (read_through(fd, map, off, got, n) != (ssize_t)n) { problem = "read short"; break; }
    if (pread(rfd, want, n, off) != (ssize_t)n) { problem = "the reference read short"; break; }
    for (size_t i = 0; i < n; i++)
      if (got[i] != want[i]) { if (first < 0) first = off + i; differ++; }
  }
  if (map) munmap(map, size);
  if (fd >= 0) close(fd);
  if (rfd >= 0) close(rfd);
  walk.files++;
  walk.bytes += size;
  if (problem || differ) {
    if (walk.wrong++ < 10) {
      if (problem) say("image %s: %s: %s", walk.side, rel, problem);
      else say("image %s: %s: %lld of %lld bytes differ from the unshared mount, first at offset %lld", walk.side, rel, differ, size, first);
    }
  }
  return 0;
}

static void scenario(void) {
  struct { const char *dev, *dir, *opts; } m[4] = {
    {"/dev/vda", "/mnt/a", REPRO_OPTS_A}, {"/dev/vdb", "/mnt/b", REPRO_OPTS_B},
    {"/dev/vdc", "/mnt/ref-a", ""}, {"/dev/vdd", "/mnt/ref-b", ""},
  };
  for (int i = 0; i < 4; i++) {
    int e = mount_erofs(m[i].dev, m[i].dir, m[i].opts);
    if (e) SCENARIO_ERROR("mount -t erofs -o ro%s%s %s %s: %s", *m[i].opts ? "," : "", m[i].opts, m[i].dev, m[i].dir, strerror(e));
  }
  if (pipe(pipe_fd)) SCENARIO_ERROR("pipe: %s", strerror(errno));
  fcntl(pipe_fd[1], F_SETPIPE_SZ, CHUNK);
  drop_caches();
  long wrong = 0, files = 0;
  for (int i = 0; i < 2; i++) {
    walk.side = i ? "B" : "A";
    walk.root = m[i].dir;
    walk.ref = m[i + 2].dir;
    walk.files = walk.wrong = 0;
    walk.bytes = 0;
    if (nftw(walk.root, compare_file, 16, FTW_PHYS)) SCENARIO_ERROR("walking %s: %s", walk.root, strerror(errno));
    say("image %s (-o %s): %ld files, %lld bytes read by %s, %ld differ from the unshared mount", walk.side, m[i].opts, walk.files, walk.bytes, REPRO_ACCESS, walk.wrong);
    wrong += walk.wrong;
    files += walk.files;
  }
  if (wrong) REPRODUCED("%ld of %ld files read back with other bytes than the same image mounted without sharing (DATA CORRUPTION)", wrong, files);
  NOT_REPRODUCED("all %ld files of A and B read back as the unshared mounts serve them", files);
}
