/*
 * esbprobe: the guest side of erofs-share-bench. Everything it reports is one
 * JSON object per line on stdout, which the init script sends down the
 * virtio-serial sample channel.
 *
 *   esbprobe hello MODE REP
 *   esbprobe settle POINT PATHLABEL [drop]   sync, optionally drop caches, sample
 *                                            /proc/meminfo until two readings agree
 *   esbprobe read METHOD DIR IMAGE [sha256|xxh64]  read every regular file under DIR by
 *                                            read(2) | mmap | sendfile
 *   esbprobe resident DIR IMAGE              how many pages of each regular file under
 *                                            DIR are in the page cache (mincore, no reads)
 *   esbprobe dmesg                           the kernel log
 *   esbprobe cgroup NAME DIR                 memory.current and memory.stat of a cgroup
 *   esbprobe output CONTAINER STEP FILE      a file's text (a workload's log), at most 64 KiB
 *   esbprobe error WHAT MESSAGE
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* ---- SHA-256 (FIPS 180-4) ---- */
struct sha256 { uint32_t h[8]; uint64_t len; uint8_t buf[64]; size_t n; };
static const uint32_t K[64] = {
  0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,
  0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,
  0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
  0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,
  0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,
  0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
  0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,
  0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2};
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
static void sha_block(struct sha256 *s, const uint8_t *p) {
  uint32_t w[64], a, b, c, d, e, f, g, h;
  for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4*i] << 24 | (uint32_t)p[4*i+1] << 16 | (uint32_t)p[4*i+2] << 8 | p[4*i+3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i-15], 7) ^ ROR(w[i-15], 18) ^ (w[i-15] >> 3);
    uint32_t s1 = ROR(w[i-2], 17) ^ ROR(w[i-2], 19) ^ (w[i-2] >> 10);
    w[i] = w[i-16] + s0 + w[i-7] + s1;
  }
  a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3]; e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d; s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}
static void sha_init(struct sha256 *s) {
  static const uint32_t iv[8] = {0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19};
  memcpy(s->h, iv, sizeof iv); s->len = 0; s->n = 0;
}
static void sha_update(struct sha256 *s, const uint8_t *p, size_t len) {
  s->len += len;
  if (s->n) {
    while (len && s->n < 64) { s->buf[s->n++] = *p++; len--; }
    if (s->n == 64) { sha_block(s, s->buf); s->n = 0; }
  }
  while (len >= 64) { sha_block(s, p); p += 64; len -= 64; }
  while (len) { s->buf[s->n++] = *p++; len--; }
}
static void sha_hex(struct sha256 *s, char out[65]) {
  uint64_t bits = s->len * 8;
  uint8_t pad = 0x80, zero = 0, lenbuf[8];
  sha_update(s, &pad, 1);
  while (s->n != 56) sha_update(s, &zero, 1);
  for (int i = 0; i < 8; i++) lenbuf[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha_update(s, lenbuf, 8);
  for (int i = 0; i < 8; i++) sprintf(out + 8 * i, "%08x", s->h[i]);
}

/* ---- XXH64 (Yann Collet's published algorithm, seed 0): cheap enough to check every file on every boot ---- */
#define XP1 0x9E3779B185EBCA87ULL
#define XP2 0xC2B2AE3D27D4EB4FULL
#define XP3 0x165667B19E3779F9ULL
#define XP4 0x85EBCA77C2B2AE63ULL
#define XP5 0x27D4EB2F165667C5ULL
struct xxh64 { uint64_t v[4]; uint64_t len; uint8_t buf[32]; size_t n; };
static uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
/* the guest is x86-64, little-endian like the digest: a plain load is the value */
static uint64_t le64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t le32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t xx_round(uint64_t acc, uint64_t in) { acc += in * XP2; acc = rotl64(acc, 31); return acc * XP1; }
static uint64_t xx_merge(uint64_t h, uint64_t v) { h ^= xx_round(0, v); return h * XP1 + XP4; }
static void xx_init(struct xxh64 *x) {
  x->v[0] = XP1 + XP2; x->v[1] = XP2; x->v[2] = 0; x->v[3] = (uint64_t)0 - XP1;
  x->len = 0; x->n = 0;
}
static void xx_stripe(struct xxh64 *x, const uint8_t *p) {
  for (int i = 0; i < 4; i++) x->v[i] = xx_round(x->v[i], le64(p + 8 * i));
}
static void xx_update(struct xxh64 *x, const uint8_t *p, size_t len) {
  x->len += len;
  if (x->n) {
    while (len && x->n < 32) { x->buf[x->n++] = *p++; len--; }
    if (x->n == 32) { xx_stripe(x, x->buf); x->n = 0; }
  }
  while (len >= 32) { xx_stripe(x, p); p += 32; len -= 32; }
  while (len) { x->buf[x->n++] = *p++; len--; }
}
static void xx_hex(struct xxh64 *x, char out[17]) {
  uint64_t h;
  if (x->len >= 32) {
    h = rotl64(x->v[0], 1) + rotl64(x->v[1], 7) + rotl64(x->v[2], 12) + rotl64(x->v[3], 18);
    for (int i = 0; i < 4; i++) h = xx_merge(h, x->v[i]);
  } else {
    h = XP5;
  }
  h += x->len;
  const uint8_t *p = x->buf;
  size_t n = x->n;
  for (; n >= 8; p += 8, n -= 8) h = rotl64(h ^ xx_round(0, le64(p)), 27) * XP1 + XP4;
  if (n >= 4) { h = rotl64(h ^ (uint64_t)le32(p) * XP1, 23) * XP2 + XP3; p += 4; n -= 4; }
  for (; n; p++, n--) h = rotl64(h ^ *p * XP5, 11) * XP1;
  h ^= h >> 33; h *= XP2; h ^= h >> 29; h *= XP3; h ^= h >> 32;
  snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* ---- the digest a read is checked with: sha256 or xxh64 ---- */
enum digest_kind { D_NONE, D_SHA256, D_XXH64 };
struct digest { enum digest_kind kind; struct sha256 s; struct xxh64 x; };
static const char *digest_name(enum digest_kind k) { return k == D_SHA256 ? "sha256" : "xxh64"; }
static void digest_init(struct digest *d, enum digest_kind k) {
  d->kind = k;
  if (k == D_SHA256) sha_init(&d->s);
  if (k == D_XXH64) xx_init(&d->x);
}
static void digest_update(struct digest *d, const uint8_t *p, size_t len) {
  if (d->kind == D_SHA256) sha_update(&d->s, p, len);
  else if (d->kind == D_XXH64) xx_update(&d->x, p, len);
}
static void digest_hex(struct digest *d, char out[65]) {
  if (d->kind == D_SHA256) sha_hex(&d->s, out);
  else xx_hex(&d->x, out);
}

/* milliseconds since the guest booted: every step says when it ended, so the host can tell where a boot's time went */
static double up_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- JSON output ---- */
/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms,
 * no encoded surrogates, nothing above U+10FFFF), or 0 when no sequence
 * starts there: a stray continuation byte, a truncated sequence, 0xf5-0xff.
 */
static size_t utf8_seq(const unsigned char *p, size_t left) {
  unsigned char c = p[0], lo = 0x80, hi = 0xbf; /* range of the second byte */
  size_t n;
  if (c < 0x80) return 1;
  if (c < 0xc2) return 0;
  if (c < 0xe0) n = 2;
  else if (c < 0xf0) { n = 3; if (c == 0xe0) lo = 0xa0; if (c == 0xed) hi = 0x9f; }
  else if (c < 0xf5) { n = 4; if (c == 0xf0) lo = 0x90; if (c == 0xf4) hi = 0x8f; }
  else return 0;
  if (left < n || p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < n; i++) if ((p[i] & 0xc0) != 0x80) return 0;
  return n;
}

/*
 * s[0..len) as a JSON string. Well-formed UTF-8 goes out as it is (the host
 * reads the channel as UTF-8), control characters, '"' and '\' escaped; every
 * byte that is not part of well-formed UTF-8 becomes U+FFFD, so the line is
 * valid JSON whatever the bytes. Returns 0 when a byte was replaced.
 */
static int json_strn(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  int exact = 1;
  putchar('"');
  while (p < end) {
    size_t n = utf8_seq(p, end - p);
    if (n == 0) { fputs("\xef\xbf\xbd", stdout); exact = 0; p++; continue; }
    if (n > 1) { fwrite(p, 1, n, stdout); p += n; continue; }
    unsigned char c = *p++;
    if (c == '"' || c == '\\') { putchar('\\'); putchar(c); }
    else if (c == '\n') fputs("\\n", stdout);
    else if (c == '\t') fputs("\\t", stdout);
    else if (c < 0x20 || c == 0x7f) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
  return exact;
}
static int json_str(const char *s) { return json_strn(s, strlen(s)); }

/*
 * ,"path":... for a file name, plus ,"pathHex":... with its raw bytes when the
 * name is not well-formed UTF-8: U+FFFD is lossy, so the host matches a file
 * by pathHex when there is one and by path otherwise.
 */
static void json_path(const char *rel) {
  printf(",\"path\":");
  if (json_str(rel)) return;
  printf(",\"pathHex\":\"");
  for (const unsigned char *p = (const unsigned char *)rel; *p; p++) printf("%02x", *p);
  putchar('"');
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * reads at most max bytes of a file (tail kept when longer), NUL-terminated;
 * *len is the byte count, which a log with NUL bytes in it needs
 */
static char *slurp(const char *path, size_t max, size_t *len) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  char *buf = malloc(max + 1);
  size_t n = 0;
  ssize_t r;
  char tmp[8192];
  while ((r = read(fd, tmp, sizeof tmp)) > 0) {
    for (ssize_t i = 0; i < r; i++) {
      if (n == max) { memmove(buf, buf + max / 2, max - max / 2); n = max - max / 2; }
      buf[n++] = tmp[i];
    }
  }
  close(fd);
  buf[n] = 0;
  *len = n;
  return buf;
}

/* ---- meminfo ---- */
static char meminfo[8192];
static long meminfo_kib(const char *key) {
  const char *p = strstr(meminfo, key);
  size_t n = strlen(key);
  while (p && !(p == meminfo || p[-1] == '\n')) p = strstr(p + 1, key);
  if (!p || p[n] != ':') return -1;
  return strtol(p + n + 1, NULL, 10);
}
static long read_pagecache_kib(void) {
  int fd = open("/proc/meminfo", O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, meminfo, sizeof meminfo - 1) : -1;
  if (fd >= 0) close(fd);
  meminfo[n > 0 ? n : 0] = 0;
  return meminfo_kib("Cached") - meminfo_kib("Shmem");
}

/*
 * agree = two consecutive readings within 16 pages; the guest is otherwise
 * idle, but under TCG writeback and reclaim can take seconds to settle
 */
#define SETTLE_KIB 64
#define SETTLE_TRIES 50

static int cmd_settle(const char *point, const char *pathlabel, int drop) {
  double t0 = now_ms();
  sync();
  if (drop) {
    int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
    if (fd < 0 || write(fd, "3", 1) != 1) { perror("drop_caches"); return 1; }
    close(fd);
  }
  long readings[SETTLE_TRIES];
  int tries = 1, stable = 0;
  readings[0] = read_pagecache_kib();
  while (tries < SETTLE_TRIES) {
    usleep(200 * 1000);
    readings[tries] = read_pagecache_kib();
    tries++;
    if (labs(readings[tries - 1] - readings[tries - 2]) <= SETTLE_KIB) { stable = 1; break; }
  }
  /* right after the last meminfo reading: the host takes per-phase deltas
     of the reclaim and refault counters */
  size_t vmlen = 0, dslen = 0;
  char *vmstat = slurp("/proc/vmstat", 1 << 16, &vmlen);
  /* reads that reached the disks: how much a mode's page faults and readahead cost in I/O */
  char *diskstats = slurp("/proc/diskstats", 1 << 14, &dslen);
  printf("{\"t\":\"sample\",\"point\":"); json_str(point);
  printf(",\"path\":"); json_str(pathlabel);
  printf(",\"tries\":%d,\"stable\":%s,\"readings\":[", tries, stable ? "true" : "false");
  for (int i = 0; i < tries; i++) printf("%s%ld", i ? "," : "", readings[i]);
  printf("],\"meminfo\":");
  json_str(meminfo);
  printf(",\"vmstat\":");
  json_strn(vmstat ? vmstat : "", vmstat ? vmlen : 0);
  printf(",\"diskstats\":");
  json_strn(diskstats ? diskstats : "", diskstats ? dslen : 0);
  printf(",\"ms\":%.0f,\"up\":%.0f}\n", now_ms() - t0, up_ms());
  free(vmstat);
  free(diskstats);
  return 0;
}

/* ---- walking a tree ---- */
/*
 * Every regular file under a root goes to a visitor, with a descriptor of its
 * directory and its path relative to the root. A directory or entry that
 * cannot be walked is a file-error line and the walk goes on with the rest:
 * nftw stops at a directory it cannot open (unless the error is EACCES) and
 * ignores a failed readdir, which made a partial walk look like a small image.
 */
typedef void (*visitor)(int dfd, const char *name, const char *rel, const struct stat *st);
static const char *g_image;
static long g_errors;
static int g_walk_failed;
static char g_rel[1 << 16];

static void file_error(const char *rel, const char *op, int err, unsigned long long bytes) {
  g_errors++;
  printf("{\"t\":\"file-error\",\"image\":"); json_str(g_image);
  json_path(rel);
  printf(",\"op\":\"%s\",\"errno\":%d,\"bytes\":%llu}\n", op, err, bytes);
}
static void walk_error(const char *rel, const char *op, int err) {
  g_walk_failed = 1;
  file_error(rel, op, err, 0);
}

static void walk_dir(int fd, size_t rlen, visitor v);

/* one entry of a directory; g_rel holds its relative path, rlen bytes long */
static void walk_entry(int dfd, const char *name, size_t rlen, visitor v) {
  struct stat st;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) { walk_error(g_rel, "stat", errno); return; }
  if (S_ISREG(st.st_mode)) { v(dfd, name, g_rel, &st); return; }
  if (!S_ISDIR(st.st_mode)) return;
  int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) { walk_error(g_rel, "opendir", errno); return; }
  walk_dir(fd, rlen, v);
}

/* the entries of the directory open as fd (closed here), g_rel[0..rlen) its path */
static void walk_dir(int fd, size_t rlen, visitor v) {
  DIR *d = fdopendir(fd);
  if (!d) { int err = errno; close(fd); walk_error(g_rel, "opendir", err); return; }
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (!de) {
      if (errno) walk_error(g_rel, "readdir", errno);
      break;
    }
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    size_t sep = rlen > 0, n = strlen(de->d_name);
    if (rlen + sep + n >= sizeof g_rel) { walk_error(g_rel, "readdir", ENAMETOOLONG); continue; }
    if (sep) g_rel[rlen] = '/';
    memcpy(g_rel + rlen + sep, de->d_name, n + 1);
    walk_entry(fd, de->d_name, rlen + sep + n, v);
    g_rel[rlen] = 0;
  }
  closedir(d);
}

/* 0 when the whole tree was walked, -1 when some part could not be */
static int walk(const char *root, visitor v) {
  g_rel[0] = 0;
  g_walk_failed = 0;
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) walk_error("", "opendir", errno);
  else walk_dir(fd, 0, v);
  return g_walk_failed ? -1 : 0;
}

/* ---- read-all ---- */
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

/* Touches one byte per page of a mapping, or hashes it page by page, so that
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
  printf("{\"t\":\"file\",\"image\":"); json_str(g_image);
  json_path(rel);
  printf(",\"size\":%lld,\"bytes\":%llu", (long long)st->st_size, g_fbytes);
  if (g_digest) {
    char hex[65];
    digest_hex(&sh, hex);
    printf(",\"%s\":\"%s\"", digest_name(g_digest), hex);
  }
  printf("}\n");
}

static int cmd_read(const char *method, const char *dir, const char *image, enum digest_kind digest) {
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
  int rc = walk(dir, visit_read);
  printf("{\"t\":\"read\",\"image\":"); json_str(image);
  printf(",\"method\":"); json_str(method);
  printf(",\"files\":%ld,\"bytes\":%llu,\"errors\":%ld,\"ms\":%.0f,\"walk\":%d,\"up\":%.0f}\n", g_files, g_bytes, g_errors, now_ms() - t0, rc, up_ms());
  return 0;
}

/* ---- residency ---- */
/*
 * Which pages of each file are in the page cache, for explaining the gap
 * between the expected and the measured saving. mincore() on a fresh shared
 * mapping reports the page cache of the file the mapping resolves to, and
 * nothing here touches a page, so the walk itself does not change what it
 * measures.
 */
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
  printf("{\"t\":\"resident\",\"image\":"); json_str(g_image);
  json_path(rel);
  printf(",\"size\":%lld,\"pages\":%zu,\"resident\":%zu}\n", (long long)st->st_size, pages, resident);
}

static int cmd_resident(const char *dir, const char *image) {
  double t0 = now_ms();
  g_image = image;
  walk(dir, visit_resident);
  printf("{\"t\":\"resident-done\",\"image\":"); json_str(image);
  printf(",\"ms\":%.0f,\"up\":%.0f}\n", now_ms() - t0, up_ms());
  return 0;
}

static int cmd_dmesg(void) {
  int len = klogctl(10, NULL, 0);
  if (len <= 0) len = 1 << 16;
  char *buf = calloc(1, len + 1);
  int n = klogctl(3, buf, len);
  buf[n > 0 ? n : 0] = 0;
  printf("{\"t\":\"dmesg\",\"text\":"); json_strn(buf, n > 0 ? n : 0); printf(",\"up\":%.0f}\n", up_ms());
  return 0;
}

static int cmd_cgroup(const char *name, const char *dir) {
  char path[4096];
  size_t len = 0;
  snprintf(path, sizeof path, "%s/memory.current", dir);
  char *cur = slurp(path, 64, &len);
  snprintf(path, sizeof path, "%s/memory.stat", dir);
  char *st = slurp(path, 1 << 16, &len);
  printf("{\"t\":\"cgroup\",\"name\":"); json_str(name);
  printf(",\"current\":%lld,\"stat\":", cur ? atoll(cur) : -1LL);
  json_strn(st ? st : "", st ? len : 0);
  printf("}\n");
  return 0;
}

static int cmd_output(const char *container, const char *step, const char *file) {
  size_t len = 0;
  char *text = slurp(file, 1 << 16, &len);
  printf("{\"t\":\"output\",\"container\":"); json_str(container);
  printf(",\"step\":"); json_str(step);
  printf(",\"text\":"); json_strn(text ? text : "", text ? len : 0);
  printf("}\n");
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  if (argc >= 4 && !strcmp(argv[1], "hello")) {
    struct utsname u;
    uname(&u);
    printf("{\"t\":\"hello\",\"release\":"); json_str(u.release);
    printf(",\"mode\":"); json_str(argv[2]);
    printf(",\"rep\":%d,\"up\":%.0f}\n", atoi(argv[3]), up_ms());
    return 0;
  }
  if (argc >= 4 && !strcmp(argv[1], "settle")) return cmd_settle(argv[2], argv[3], argc >= 5 && !strcmp(argv[4], "drop"));
  if (argc >= 5 && !strcmp(argv[1], "read")) {
    /* "hash" is the older spelling of sha256 */
    const char *d = argc >= 6 ? argv[5] : "";
    enum digest_kind k = !strcmp(d, "xxh64") ? D_XXH64 : (!strcmp(d, "sha256") || !strcmp(d, "hash")) ? D_SHA256 : D_NONE;
    return cmd_read(argv[2], argv[3], argv[4], k);
  }
  if (argc >= 4 && !strcmp(argv[1], "resident")) return cmd_resident(argv[2], argv[3]);
  if (argc >= 2 && !strcmp(argv[1], "dmesg")) return cmd_dmesg();
  if (argc >= 4 && !strcmp(argv[1], "cgroup")) return cmd_cgroup(argv[2], argv[3]);
  if (argc >= 5 && !strcmp(argv[1], "output")) return cmd_output(argv[2], argv[3], argv[4]);
  if (argc >= 4 && !strcmp(argv[1], "error")) {
    printf("{\"t\":\"error\",\"what\":"); json_str(argv[2]);
    printf(",\"message\":"); json_str(argv[3]); printf("}\n");
    return 0;
  }
  fprintf(stderr, "usage: esbprobe hello|settle|read|resident|dmesg|cgroup|output|error ...\n");
  return 2;
}
