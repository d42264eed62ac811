/*
 * umount-race: image A is mounted, reads the shared file, drops its pages
 * and is unmounted, over and over, while a reader of image B (same domain)
 * keeps reading the same file uncached. When B's reads go through A's real
 * inode, A's unmount finds it busy ("VFS: Busy inodes after unmount") and
 * B's reader then runs on an inode whose superblock is gone.
 */
struct race_counters { volatile int stop; volatile long reads, wrong; };

static void scenario(void) {
  char a[4096], b[4096];
  snprintf(a, sizeof a, "/mnt/a/%s", REPRO_FILE);
  snprintf(b, sizeof b, "/mnt/b/%s", REPRO_FILE);
  int e = mount_erofs("/dev/vdb", "/mnt/b", REPRO_SHARE_OPTS);
  if (e) SCENARIO_ERROR("mount -t erofs -o ro,%s /dev/vdb /mnt/b: %s", REPRO_SHARE_OPTS, strerror(e));
  long long size = 0;
  uint8_t *want = read_file(b, &size);
  if (!want) SCENARIO_ERROR("reading %s: %s", b, strerror(errno));
  struct race_counters *k = mmap(NULL, sizeof *k, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  memset((void *)k, 0, sizeof *k);
  int log = kmsg_open();
  pid_t reader = fork();
  if (reader == 0) {
    while (!k->stop) {
      int fd = open(b, O_RDONLY);
      if (fd >= 0) { posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); close(fd); }
      long long n = 0;
      uint8_t *got = read_file(b, &n);
      if (!got || n != size || memcmp(got, want, size)) k->wrong++;
      free(got);
      k->reads++;
    }
    _exit(0);
  }
  say("cycling A (%s) while B reads %s (%lld bytes) uncached: at most %d cycles in %d s", REPRO_SHARE_OPTS, REPRO_FILE, size, REPRO_MAX_CYCLES, REPRO_SECONDS);
  double t0 = now_s();
  long cycles = 0, busy = 0, first_busy = -1;
  for (; cycles < REPRO_MAX_CYCLES && now_s() - t0 < REPRO_SECONDS; cycles++) {
    if ((e = mount_erofs("/dev/vda", "/mnt/a", REPRO_SHARE_OPTS))) { k->stop = 1; SCENARIO_ERROR("cycle %ld: mount A: %s", cycles, strerror(e)); }
    long long n = 0;
    uint8_t *got = read_file(a, &n);
    free(got);
    int fd = open(a, O_RDONLY);
    if (fd >= 0) { posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); close(fd); }
    if (umount("/mnt/a")) { k->stop = 1; SCENARIO_ERROR("cycle %ld: umount A: %s", cycles, strerror(errno)); }
    int hits = kmsg_count(log, "Busy inodes after unmount");
    if (hits && first_busy < 0) { first_busy = cycles; say("cycle %ld: VFS: Busy inodes after unmount of A", cycles); }
    busy += hits;
    /* a few more cycles after the first: B's reader is what trips over A's freed superblock */
    if (first_busy >= 0 && cycles >= first_busy + REPRO_LINGER_CYCLES) { cycles++; break; }
  }
  k->stop = 1;
  waitpid(reader, NULL, 0);
  say("%ld unmounts of A, %ld busy; B read the file %ld times, %ld wrong", cycles, busy, k->reads, k->wrong);
  if (busy || k->wrong)
    REPRODUCED("%ld of %ld unmounts of A found its inodes busy (first at cycle %ld); %ld of B's %ld reads wrong", busy, cycles, first_busy, k->wrong, k->reads);
  NOT_REPRODUCED("%ld unmounts of A while B read the shared file %ld times: no busy inodes, no wrong read", cycles, k->reads);
}
