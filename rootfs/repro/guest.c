/*
 * The guest half of a reproducer bundle: this program is the guest's only
 * process (/init of an initramfs it writes itself), so a bundle needs a C
 * compiler and QEMU and nothing else. The scenario part (one of the other
 * files of this folder) is appended to it, and the parameters block above it
 * is written for one finding; the result is the bundle's repro.c.
 *
 *   ./repro --initramfs FILE   (on the host) writes FILE: /init = this program
 *   as /init (in the guest)    runs scenario(), prints REPRO-RESULT, reboots
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* helpers a scenario may leave unused */

static __attribute__((unused)) void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("repro: ", stdout);
  vprintf(fmt, ap);
  fputc('\n', stdout);
  fflush(stdout);
  va_end(ap);
}

static void end_guest(void) {
  sync();
  /* with reboot=t on the command line and QEMU's -no-reboot, a reboot ends QEMU */
  reboot(RB_AUTOBOOT);
  _exit(0);
}

/* the one line run.sh judges by: reproduced, not reproduced, or an error of the scenario itself */
static void finish(const char *verdict, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("REPRO-RESULT: %s: ", verdict);
  vprintf(fmt, ap);
  printf("\n");
  fflush(stdout);
  va_end(ap);
  end_guest();
}
#define REPRODUCED(...) finish("reproduced", __VA_ARGS__)
#define NOT_REPRODUCED(...) finish("not reproduced", __VA_ARGS__)
#define SCENARIO_ERROR(...) finish("error", __VA_ARGS__)

static __attribute__((unused)) double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* /dev/vdX: devtmpfs makes it; without devtmpfs the node is made from sysfs */
static void device_node(const char *name) {
  char path[64], sys[64], buf[32];
  snprintf(path, sizeof path, "/dev/%s", name);
  if (access(path, F_OK) == 0) return;
  snprintf(sys, sizeof sys, "/sys/block/%s/dev", name);
  int fd = open(sys, O_RDONLY);
  if (fd < 0) return;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  unsigned maj, min;
  if (n > 0 && (buf[n] = 0, sscanf(buf, "%u:%u", &maj, &min) == 2)) mknod(path, S_IFBLK | 0600, makedev(maj, min));
}

static void setup_guest(void) {
  mkdir("/proc", 0755); mkdir("/sys", 0755); mkdir("/dev", 0755); mkdir("/mnt", 0755);
  mount("proc", "/proc", "proc", 0, NULL);
  mount("sysfs", "/sys", "sysfs", 0, NULL);
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  const char *disks[] = {"vda", "vdb", "vdc", "vdd"};
  for (int i = 0; i < 4; i++) device_node(disks[i]);
}

static int mount_erofs(const char *dev, const char *dir, const char *opts) {
  mkdir(dir, 0755);
  return mount(dev, dir, "erofs", MS_RDONLY, opts && *opts ? opts : NULL) == 0 ? 0 : errno;
}

static __attribute__((unused)) void drop_caches(void) {
  int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
  if (fd >= 0) { if (write(fd, "3", 1) < 0) {} close(fd); }
}

/*
 * The whole of a file (malloc'ed, NUL-terminated past its bytes); NULL on an
 * error, errno kept. Read to its end, not to its stat size: /proc files
 * say 0.
 */
static uint8_t *read_file(const char *path, long long *size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st)) { close(fd); return NULL; }
  size_t cap = (size_t)st.st_size + 4096, got = 0;
  uint8_t *buf = malloc(cap);
  for (;;) {
    if (got + 1 >= cap) buf = realloc(buf, cap *= 2);
    ssize_t n = read(fd, buf + got, cap - got - 1);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  buf[got] = 0;
  *size = (long long)got;
  return buf;
}

/* a kernel log reader from now on; kmsg_count says how many new records contain `needle` */
static __attribute__((unused)) int kmsg_open(void) {
  int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
  if (fd >= 0) lseek(fd, 0, SEEK_END);
  return fd;
}
static __attribute__((unused)) int kmsg_count(int fd, const char *needle) {
  char rec[4096];
  int hits = 0;
  if (fd < 0) return 0;
  for (;;) {
    ssize_t r = read(fd, rec, sizeof rec - 1);
    if (r < 0 && errno == EPIPE) continue;
    if (r <= 0) break;
    rec[r] = 0;
    if (strstr(rec, needle)) hits++;
  }
  return hits;
}

/* --- the initramfs, written on the host (newc cpio: what the kernel unpacks) --- */
static void cpio_entry(FILE *out, const char *name, unsigned mode, unsigned rmaj, unsigned rmin, const uint8_t *data, size_t size) {
  static unsigned ino = 1;
  size_t namesize = strlen(name) + 1;
  fprintf(out, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X",
          ino++, mode, 0u, 0u, 1u, 0u, size, 0u, 0u, rmaj, rmin, namesize, 0u);
  fwrite(name, 1, namesize, out);
  for (size_t pad = (4 - (110 + namesize) % 4) % 4; pad; pad--) fputc(0, out);
  if (size) fwrite(data, 1, size, out);
  for (size_t pad = (4 - size % 4) % 4; pad; pad--) fputc(0, out);
}
static int make_initramfs(const char *path) {
  long long size = 0;
  uint8_t *self = read_file("/proc/self/exe", &size);
  if (!self || !size) { fprintf(stderr, "cannot read this program (/proc/self/exe): %s\n", strerror(errno)); return 1; }
  FILE *out = fopen(path, "wb");
  if (!out) { fprintf(stderr, "%s: %s\n", path, strerror(errno)); return 1; }
  const char *dirs[] = {"dev", "proc", "sys", "mnt"};
  for (int i = 0; i < 4; i++) cpio_entry(out, dirs[i], S_IFDIR | 0755, 0, 0, NULL, 0);
  cpio_entry(out, "dev/console", S_IFCHR | 0600, 5, 1, NULL, 0);
  cpio_entry(out, "init", S_IFREG | 0755, 0, 0, self, (size_t)size);
  cpio_entry(out, "TRAILER!!!", 0, 0, 0, NULL, 0);
  int bad = ferror(out) | fclose(out);
  free(self);
  if (bad) { fprintf(stderr, "%s: write failed\n", path); return 1; }
  return 0;
}

static void scenario(void);

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--initramfs")) return make_initramfs(argv[2]);
  if (getpid() != 1) {
    fprintf(stderr, "usage: %s --initramfs FILE\n(in the guest this program is /init: run.sh boots it)\n", argv[0]);
    return 2;
  }
  setup_guest();
  say("scenario %s", REPRO_SCENARIO);
  scenario();
  SCENARIO_ERROR("the scenario returned without a verdict");
  return 0;
}
