/*
 * fadvise: images A and B share a file's page cache (one domain).
 * POSIX_FADV_DONTNEED through A must drop that one copy: afterwards no page
 * of it may stay resident through B.
 */
static long meminfo_cached_kib(void) {
  long long n = 0;
  char *t = (char *)read_file("/proc/meminfo", &n);
  long kib = -1;
  char *at = t ? strstr(t, "\nCached:") : NULL;
  if (at) kib = strtol(at + 8, NULL, 10);
  free(t);
  return kib;
}

/* pages of `path` in the page cache, seen through a mapping of it */
static long resident_pages(const char *path, long long size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return -1;
  long pages = (size + 4095) / 4096, n = 0;
  unsigned char *vec = malloc(pages);
  if (mincore(p, size, vec) == 0) for (long i = 0; i < pages; i++) n += vec[i] & 1;
  else n = -1;
  free(vec);
  munmap(p, size);
  return n;
}

static void scenario(void) {
  char a[4096], b[4096];
  snprintf(a, sizeof a, "/mnt/a/%s", REPRO_FILE);
  snprintf(b, sizeof b, "/mnt/b/%s", REPRO_FILE);
  int e = mount_erofs("/dev/vda", "/mnt/a", REPRO_SHARE_OPTS);
  if (!e) e = mount_erofs("/dev/vdb", "/mnt/b", REPRO_SHARE_OPTS);
  if (e) SCENARIO_ERROR("mount -t erofs -o ro,%s: %s", REPRO_SHARE_OPTS, strerror(e));
  drop_caches();
  long long size = 0;
  free(read_file(b, &size));
  if (!size) SCENARIO_ERROR("reading %s: %s", b, strerror(errno));
  long pages = (size + 4095) / 4096, throughA = resident_pages(a, size);
  say("read %s through B: %ld of %ld pages resident through A", REPRO_FILE, throughA, pages);
  /* the premise: reading through B filled the one copy A sees too */
  if (throughA * 2 <= pages) SCENARIO_ERROR("not shared: after reading through B only %ld of %ld pages are resident through A", throughA, pages);
  long cached0 = meminfo_cached_kib();
  int fd = open(a, O_RDONLY);
  e = fd < 0 ? errno : posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  if (fd >= 0) close(fd);
  if (e) REPRODUCED("posix_fadvise(POSIX_FADV_DONTNEED) through A: %s", strerror(e));
  long after = resident_pages(b, size), dropped = cached0 - meminfo_cached_kib();
  say("after POSIX_FADV_DONTNEED through A: %ld of %ld pages resident through B; Cached fell by %ld KiB of the file's %lld KiB", after, pages, dropped, size >> 10);
  if (after > pages / 100)
    REPRODUCED("POSIX_FADV_DONTNEED through A left %ld of %ld pages resident through B (Cached fell by %ld KiB of %lld KiB)", after, pages, dropped, size >> 10);
  NOT_REPRODUCED("POSIX_FADV_DONTNEED through A dropped the shared copy: %ld of %ld pages left through B", after, pages);
}
