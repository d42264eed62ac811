/* Page cache samples: /proc/meminfo read until two readings agree, with the counters the host takes deltas of. */
#include "esbprobe.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char meminfo[8192];

static long meminfo_kib(const char *key) {
  const char *p = strstr(meminfo, key);
  size_t n = strlen(key);
  while (p && !(p == meminfo || p[-1] == '\n')) p = strstr(p + 1, key);
  if (!p || p[n] != ':') return -1;
  return strtol(p + n + 1, NULL, 10);
}

/* the initramfs lives in Shmem: page cache of files is Cached - Shmem */
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

int cmd_settle(const char *point, const char *pathlabel, int drop) {
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
  struct jb b = {0};
  jb_printf(&b, "{\"t\":\"sample\",\"point\":"); jb_str(&b, point);
  jb_printf(&b, ",\"path\":"); jb_str(&b, pathlabel);
  jb_printf(&b, ",\"tries\":%d,\"stable\":%s,\"readings\":[", tries, stable ? "true" : "false");
  for (int i = 0; i < tries; i++) jb_printf(&b, "%s%ld", i ? "," : "", readings[i]);
  jb_printf(&b, "],\"meminfo\":");
  jb_str(&b, meminfo);
  jb_printf(&b, ",\"vmstat\":");
  jb_strn(&b, vmstat ? vmstat : "", vmstat ? vmlen : 0);
  jb_printf(&b, ",\"diskstats\":");
  jb_strn(&b, diskstats ? diskstats : "", diskstats ? dslen : 0);
  jb_printf(&b, ",\"ms\":%.0f,\"up\":%.0f}", now_ms() - t0, up_ms());
  emit(&b);
  free(vmstat);
  free(diskstats);
  return 0;
}
