/*
 * esbprobe: the guest side of erofs-share-bench. Everything it reports is one
 * JSON object per line on stdout, which the init script sends down the
 * virtio-serial sample channel.
 *
 *   esbprobe hello MODE REP
 *   esbprobe settle POINT PATHLABEL [drop]   sync, optionally drop caches, sample
 *                                            /proc/meminfo until two readings agree
 *   esbprobe read METHOD DIR IMAGE [hash]    read every regular file under DIR by
 *                                            read(2) | mmap | sendfile
 *   esbprobe dmesg                           the kernel log
 *   esbprobe cgroup NAME DIR                 memory.current and memory.stat of a cgroup
 *   esbprobe output CONTAINER STEP FILE      a file's text (a workload's log), at most 64 KiB
 *   esbprobe error WHAT MESSAGE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

static int cmd_settle(const char *point, const char *pathlabel, int drop) {
  sync();
  if (drop) {
    int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
    if (fd < 0 || write(fd, "3", 1) != 1) { perror("drop_caches"); return 1; }
    close(fd);
  }
  long prev = read_pagecache_kib(), cur = prev;
  int tries = 1, stable = 0;
  /* agree = within 16 pages; the guest is otherwise idle */
  while (tries < 30) {
    usleep(200 * 1000);
    cur = read_pagecache_kib();
    tries++;
    if (labs(cur - prev) <= 64) { stable = 1; break; }
    prev = cur;
  }
  printf("{\"t\":\"sample\",\"point\":"); json_str(point);
  printf(",\"path\":"); json_str(pathlabel);
  printf(",\"tries\":%d,\"stable\":%s,\"meminfo\":", tries, stable ? "true" : "false");
  json_str(meminfo);
  printf("}\n");
  return 0;
}

/* ---- read-all ---- */
enum method { M_READ, M_MMAP, M_SENDFILE };
static enum method g_method;
static int g_hash;
static const char *g_image, *g_root;
static long g_files, g_errors;
static unsigned long long g_bytes;
static uint8_t g_buf[1 << 17];
static int g_pipe[2] = {-1, -1};
static volatile uint8_t g_sink;

/* Reads one file; may close *fd itself (then sets it to -1). */
static int consume(int *fdp, off_t size, struct sha256 *sh) {
  int fd = *fdp;
  if (g_method == M_READ) {
    ssize_t n;
    while ((n = read(fd, g_buf, sizeof g_buf)) > 0) { if (sh) sha_update(sh, g_buf, n); g_bytes += n; }
    return n < 0 ? -1 : 0;
  }
  if (g_method == M_MMAP) {
    if (size == 0) return 0;
    uint8_t *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) return -1;
    /* the pages are touched after the descriptor is gone, as the dynamic
       loader does with every shared library */
    close(fd);
    *fdp = -1;
    if (sh) sha_update(sh, m, size);
    else for (off_t o = 0; o < size; o += 4096) g_sink += m[o];
    g_bytes += size;
    munmap(m, size);
    return 0;
  }
  /* sendfile into a pipe, drained by read(2): the data really moves */
  off_t off = 0;
  while (off < size) {
    ssize_t n = sendfile(g_pipe[1], fd, &off, 65536);
    if (n < 0) return -1;
    if (n == 0) break;
    ssize_t left = n;
    while (left > 0) {
      ssize_t r = read(g_pipe[0], g_buf, left < (ssize_t)sizeof g_buf ? left : (ssize_t)sizeof g_buf);
      if (r <= 0) return -1;
      if (sh) sha_update(sh, g_buf, r);
      left -= r;
    }
    g_bytes += n;
  }
  return 0;
}

static int visit(const char *p, const struct stat *st, int type, struct FTW *ftw) {
  (void)ftw;
  if (type != FTW_F || !S_ISREG(st->st_mode)) return 0;
  const char *rel = p + strlen(g_root);
  while (*rel == '/') rel++;
  int fd = open(p, O_RDONLY);
  struct sha256 sh;
  int err = fd < 0;
  if (!err) {
    sha_init(&sh);
    err = consume(&fd, st->st_size, g_hash ? &sh : NULL) != 0;
    if (fd >= 0) close(fd);
  }
  g_files++;
  if (err) {
    g_errors++;
    printf("{\"t\":\"file-error\",\"image\":"); json_str(g_image);
    json_path(rel); printf(",\"errno\":%d}\n", errno);
  } else if (g_hash) {
    char hex[65];
    sha_hex(&sh, hex);
    printf("{\"t\":\"file\",\"image\":"); json_str(g_image);
    json_path(rel);
    printf(",\"size\":%lld,\"sha256\":\"%s\"}\n", (long long)st->st_size, hex);
  }
  return 0;
}

static int cmd_read(const char *method, const char *dir, const char *image, int hash) {
  if (!strcmp(method, "read")) g_method = M_READ;
  else if (!strcmp(method, "mmap")) g_method = M_MMAP;
  else if (!strcmp(method, "sendfile")) g_method = M_SENDFILE;
  else { fprintf(stderr, "unknown method %s\n", method); return 2; }
  if (g_method == M_SENDFILE && pipe(g_pipe) != 0) { perror("pipe"); return 1; }
  g_hash = hash; g_image = image; g_root = dir;
  double t0 = now_ms();
  int rc = nftw(dir, visit, 64, FTW_PHYS);
  printf("{\"t\":\"read\",\"image\":"); json_str(image);
  printf(",\"method\":"); json_str(method);
  printf(",\"files\":%ld,\"bytes\":%llu,\"errors\":%ld,\"ms\":%.0f,\"walk\":%d}\n", g_files, g_bytes, g_errors, now_ms() - t0, rc);
  return 0;
}

static int cmd_dmesg(void) {
  int len = klogctl(10, NULL, 0);
  if (len <= 0) len = 1 << 16;
  char *buf = calloc(1, len + 1);
  int n = klogctl(3, buf, len);
  buf[n > 0 ? n : 0] = 0;
  printf("{\"t\":\"dmesg\",\"text\":"); json_strn(buf, n > 0 ? n : 0); printf("}\n");
  return 0;
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
    printf(",\"rep\":%d}\n", atoi(argv[3]));
    return 0;
  }
  if (argc >= 4 && !strcmp(argv[1], "settle")) return cmd_settle(argv[2], argv[3], argc >= 5 && !strcmp(argv[4], "drop"));
  if (argc >= 5 && !strcmp(argv[1], "read")) return cmd_read(argv[2], argv[3], argv[4], argc >= 6 && !strcmp(argv[5], "hash"));
  if (argc >= 2 && !strcmp(argv[1], "dmesg")) return cmd_dmesg();
  if (argc >= 4 && !strcmp(argv[1], "cgroup")) return cmd_cgroup(argv[2], argv[3]);
  if (argc >= 5 && !strcmp(argv[1], "output")) return cmd_output(argv[2], argv[3], argv[4]);
  if (argc >= 4 && !strcmp(argv[1], "error")) {
    printf("{\"t\":\"error\",\"what\":"); json_str(argv[2]);
    printf(",\"message\":"); json_str(argv[3]); printf("}\n");
    return 0;
  }
  fprintf(stderr, "usage: esbprobe hello|settle|read|dmesg|cgroup|output|error ...\n");
  return 2;
}
