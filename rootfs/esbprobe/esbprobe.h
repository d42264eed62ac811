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
 *
 * Split by concern: settle.c (page cache samples), read.c (the read-all
 * pass), resident.c (residency), tree.c (walking an image and its
 * file-error lines), logs.c (kernel log, cgroups, a workload's output);
 * digests, JSON and the walk are the guest library's (../common).
 */
#ifndef ESBPROBE_H
#define ESBPROBE_H
#define _GNU_SOURCE
#include "../common/clock.h"
#include "../common/digest.h"
#include "../common/json.h"
#include "../common/walk.h"
#include <stddef.h>
#include <sys/stat.h>

/* one record: lines are buffered by stdio and leave in large writes */
void emit(struct jb *b);

/* ---- an image's tree (tree.c) ---- */
typedef void (*file_visitor)(int dfd, const char *name, const char *rel, const struct stat *st);
/* the image the current walk reports on, and its file-error lines so far */
extern const char *g_image;
extern long g_errors;
void file_error(const char *rel, const char *op, int err, unsigned long long bytes);
/* every regular file of root to v, every part it cannot walk a file-error line; 0 when all was walked, else -1 */
int walk_image(const char *root, file_visitor v);

/* ---- the commands ---- */
int cmd_settle(const char *point, const char *pathlabel, int drop);
int cmd_read(const char *method, const char *dir, const char *image, enum digest_kind digest);
int cmd_resident(const char *dir, const char *image);
int cmd_dmesg(void);
int cmd_cgroup(const char *name, const char *dir);
int cmd_output(const char *container, const char *step, const char *file);
/* at most max bytes of a file (the tail when longer), NUL-terminated; *len counts NUL bytes inside */
char *slurp(const char *path, size_t max, size_t *len);
#endif
