/* Text the host keeps as it is: the kernel log, a cgroup's memory, a workload's output. */
#include "esbprobe.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <unistd.h>

/* the tail is kept: a log's last lines say how it ended */
char *slurp(const char *path, size_t max, size_t *len) {
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

int cmd_dmesg(void) {
  int len = klogctl(10, NULL, 0);
  if (len <= 0) len = 1 << 16;
  char *buf = calloc(1, len + 1);
  int n = klogctl(3, buf, len);
  buf[n > 0 ? n : 0] = 0;
  struct jb b = {0};
  jb_printf(&b, "{\"t\":\"dmesg\",\"text\":"); jb_strn(&b, buf, n > 0 ? n : 0); jb_printf(&b, ",\"up\":%.0f}", up_ms());
  emit(&b);
  free(buf);
  return 0;
}

int cmd_cgroup(const char *name, const char *dir) {
  char path[4096];
  size_t len = 0;
  snprintf(path, sizeof path, "%s/memory.current", dir);
  char *cur = slurp(path, 64, &len);
  snprintf(path, sizeof path, "%s/memory.stat", dir);
  char *st = slurp(path, 1 << 16, &len);
  struct jb b = {0};
  jb_printf(&b, "{\"t\":\"cgroup\",\"name\":"); jb_str(&b, name);
  jb_printf(&b, ",\"current\":%lld,\"stat\":", cur ? atoll(cur) : -1LL);
  jb_strn(&b, st ? st : "", st ? len : 0);
  jb_printf(&b, "}");
  emit(&b);
  free(cur);
  free(st);
  return 0;
}

int cmd_output(const char *container, const char *step, const char *file) {
  size_t len = 0;
  char *text = slurp(file, 1 << 16, &len);
  struct jb b = {0};
  jb_printf(&b, "{\"t\":\"output\",\"container\":"); jb_str(&b, container);
  jb_printf(&b, ",\"step\":"); jb_str(&b, step);
  jb_printf(&b, ",\"text\":"); jb_strn(&b, text ? text : "", text ? len : 0);
  jb_printf(&b, "}");
  emit(&b);
  free(text);
  return 0;
}
