/*
 * esbcheck: the correctness checks of erofs-share-bench (guest side).
 *
 * Each check stresses page cache sharing where it can break and ends in one
 * JSON line on stdout (sent down the esb.samples port by the init script):
 *
 *   {"t":"check","name":N,"result":"pass|fail|na|finding","reason":R,
 *    "proves":P,"ms":T,"up":U,"details":{...}}
 *
 * preceded by {"t":"check-begin","name":N,...} and interleaved with raw
 * {"t":"check-step","check":N,...} lines. A kernel oops panics the guest
 * (oops=panic): the host then sees a check that began and never ended.
 *
 *   esbcheck refs                 mount vda (A) and vdb (B) with sharing off and
 *                                 digest every regular file: the expected bytes
 *   esbcheck CHECK                one check, a row of checks.def
 *   esbcheck list                 the checks' names, in the order `all` runs them
 *   esbcheck table                checks.def as compiled: one JSON line per check
 *
 * and, on any host, for the tests:
 *
 *   esbcheck refs-tree DIR IMAGE FILE   the reference pass over one directory
 *   esbcheck verify-tree DIR FILE       every file of a reference list verified under DIR
 *   esbcheck verdict F E N X            the verdict of those counts
 *
 * Environment: ESB_SHARE   mount options with sharing on, "{domain}" standing
 *                          for the domain ("inode_share,domain_id={domain}")
 *              ESB_SECONDS time budget of each time-bounded check (default 30)
 *              ESB_DIGEST  what every read is checked with: xxh64 (default) or sha256
 *              ESB_CASES   the case list for trust/corrupt (/check/cases):
 *                          "trust DEV PATH" and "corrupt DEV NAME HITPATH EXPECT"
 *              ESB_ONLY    corrupt: only these cases (comma list)
 *
 * Every check starts and ends with nothing of its own mounted. The program is
 * split by concern: table.c (the checks of checks.def and their dispatch),
 * refs.c (the reference pass), report.c (the running check and its lines),
 * system.c (mounts, caches, memory), leaks.c (kmemleak on a sanitizer
 * kernel), files.c (expected bytes and verified
 * reads), and the checks in checks_*.c; digests, JSON and the walk are the
 * guest library's (../common).
 */
#ifndef ESBCHECK_H
#define ESBCHECK_H
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/clock.h"
#include "../common/digest.h"
#include "../common/json.h"
#include "../common/walk.h"

/* what every read is checked with, chosen by ESB_DIGEST (files.c) */
extern enum digest_kind DIGEST;
/* a string escaped for the inside of a JSON string (four rotating buffers, report.c) */
const char *esc(const char *s);

/* ---- the checks (checks.def, table.c) ---- */
struct check_row {
  const char *name;
  void (*run)(void);
  int arg;              /* C.arg while it runs: which variant of a shared function */
  const char *needs;    /* the extra disks the host attaches: none, forged, corrupt */
  int typical_s, timeout_s;
  const char *neighbours; /* shared or alone: whether its boot may run beside other guests */
  const char *proves;
};
const struct check_row *find_check(const char *name);
/* the proves line of a result a check writes itself (a RESULT row) */
const char *result_proves(const char *result);
/* runs one check of the table: its exit status */
int run_check(const struct check_row *row);
int list_checks(void);
int print_check_table(void);
/* the check functions, one per CHECK row */
#define CHECK(name, function, argument, needs, typical_s, timeout_s, neighbours, proves) void function(void);
#define RESULT(check, name, proves)
#include "checks.def"
#undef CHECK
#undef RESULT

/* ---- the reference pass (refs.c) ---- */
int cmd_refs(void);
/* one directory's reference pass: ref lines, the refs line, the list at `file`; 0 when every file was read */
int ref_tree(const char *root, const char *image, const char *file, double t0);

/* ---- the running check (report.c) ---- */
struct check_state {
  const char *name, *proves;
  int arg;              /* the table row's argument */
  struct jb det;        /* "key":value,... without braces */
  char reason[1536];
  char summary[512];    /* what a pass verified, in one line */
  int failures, na, finding, tool_errors;
  double t0;
  int kmsg;
};
extern struct check_state C;
void det_int(const char *k, long long v);
void det_num(const char *k, double v);
void det_str(const char *k, const char *v);
void det_raw(const char *k, const char *json);
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void not_applicable(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* the check could not judge the kernel: the host, the check program or its own limits (result "error") */
void tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* a documented behaviour, or hardening mainline has and this kernel lacks (result "finding") */
void finding(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* the result a check ends with: fail > error > na > finding > pass */
const char *verdict_of(int failures, int tool_errors, int na, int finding);
/* the reason a passing check gives: what it verified, in one line */
void summary(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* fmt: extra JSON members without the leading comma, or NULL */
void step(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kmsg_collect(void);
/* the next record of /dev/kmsg read from `fd`, its message only; 0 at the end */
int kmsg_next(int fd, char *msg, size_t cap);
/* a kernel log line that fails a check: a WARNING, BUG, oops, busy inodes, a sysfs duplicate */
int kmsg_is_splat(const char *msg);
/* kmemleak on a sanitizer kernel (leaks.c): cleared at a check's start, judged at its end */
void kmemleak_begin(void);
/* the kernel has kmemleak (the sanitizer build): the slab bands give way to it */
int kmemleak_present(void);
void kmemleak_judge(void);
/* a kmemleak report judged (what kmemleak_judge reads), for the host's tests too */
void kmemleak_verdict(const char *report);
void check_begin(const char *name, const char *proves);
void check_result(const char *name, const char *proves, const char *result, const char *reason);
int check_end(void);
/* a SIGBUS outside guarded() ends the check as the kernel's failure (set by check_begin) */
void arm_fatal_sigbus(void);

/* ---- the system (system.c) ---- */
int write_file(const char *path, const char *text);
char *read_text(const char *path, char *buf, size_t cap);
/* the whole of a /proc file, however long its lines (malloc'ed, NUL-terminated); NULL when it cannot be read */
char *read_whole(const char *path);
/* the case list of the extra images (ESB_CASES, else /check/cases), open for reading; NULL when there is none */
FILE *open_case_list(void);
/* the /proc/self/mountinfo line of the mount at `dir` (its fifth field) into `line` (may be NULL): 1, 0 when none, -1 when unreadable */
int mountinfo_line(const char *dir, char *line, size_t cap);
void drop_caches(const char *level);
long stat_key(const char *text, const char *key);
struct mem { long cache, slab, sunreclaim, inodes, dentries; int stable; };
struct mem mem_now(void);
struct mem settle(const char *drop);
/* settled memory after the block devices' cache is flushed and only dentries and inodes are dropped */
struct mem leftover(void);
void det_mem(const char *k, struct mem m);
/* the leak judgement after everything is unmounted, against a baseline taken with nothing mounted */
void judge_leftovers(struct mem base, long unmounts, long file_kib);
extern char LEFTOVER_SUMMARY[512];
extern const char *share_tmpl;
int sharing_configured(void);
const char *share_opts(const char *domain, char *buf, size_t cap);
int mount_erofs(const char *dev, const char *dir, const char *opts);
int mount_shared(const char *dev, const char *dir, const char *domain);
int do_umount(const char *dir, int flags);
void umount_quiet(const char *dir);
double budget_s(double dflt);
#define MA "/mnt/ca"
#define MB "/mnt/cb"
long long disk_read_kib(void);
#define DEV_A "/dev/vda"
#define DEV_B "/dev/vdb"
void teardown(void);

/* ---- expected bytes and verified reads (files.c) ---- */
struct ref { char *path; long long size; char digest[DIGEST_HEX]; };
struct refs { struct ref *v; int n; };
extern struct refs REF_A, REF_B;
extern struct ref **SHARED; /* paths identical in A and B, size > 0, largest first */
extern int NSHARED;
struct ref *ref_find(struct refs *r, const char *path);
/* a reference list as `esbcheck refs` writes it: lines "DIGEST SIZE HEXPATH"; -1 when it cannot be read */
int load_refs(const char *file, struct refs *r);
struct ref *shared_odd(void);
enum method { M_READ, M_MMAP, M_SENDFILE, M_PREAD_SHUFFLED, M_COUNT };
extern const char *METHOD[];
uint64_t rng_next(uint64_t *s);
/* digest of a whole file read by m; 0 or an errno. hash_fd closes fd. */
int hash_fd(int fd, enum method m, char hex[DIGEST_HEX], long long *size_out);
int hash_path(const char *path, enum method m, char hex[DIGEST_HEX], long long *size_out);
extern long VERIFIED, VERIFY_BYTES;
int verify(const char *image, const char *root, const struct ref *r, enum method m);
int verify_map(const char *what, const uint8_t *p, const struct ref *r);
uint8_t *map_file(const char *root, const struct ref *r, int flags, int prot, int keep_fd, int *fd_out);
int touch(const uint8_t *p, long long from, long long to);
/* runs fn(arg); a SIGBUS inside it (a page of a mapping the kernel could not supply) returns EIO instead of killing */
int guarded(void (*fn)(void *), void *arg);
long resident_pages(const char *root, const struct ref *r);
/* counters shared with forked workers */
struct counters { volatile long ops[2][M_COUNT], failures, bytes, drops, fadvises; volatile int stop; char first[512]; };
struct counters *shm_counters(void);
int worker_verify(struct counters *k, int img, const char *root, const struct ref *r, enum method m);
void det_counters(struct counters *k);
int setup(int need_shared, int mount_both);

/* verify-tree: every file of a reference list read under a directory by every path, as the checks read (runs on any host) */
void check_verify_tree(const char *root, const char *refs);
#endif
