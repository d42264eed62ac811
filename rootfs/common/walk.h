/*
 * Every regular file under a root, and every directory or entry that could
 * not be walked. A failure is reported and the walk goes on with the rest:
 * nftw stops at a directory it cannot open (unless the error is EACCES),
 * skips what it cannot stat and ignores a failed readdir, which made a
 * partial walk look like a small image.
 */
#ifndef ESB_WALK_H
#define ESB_WALK_H
#include <sys/stat.h>

struct walk_visitor {
  /* a regular file: name is its entry in the directory open as dfd, rel its path under the root */
  void (*file)(void *ctx, int dfd, const char *name, const char *rel, const struct stat *st);
  /* what could not be walked: rel (the root is ""), op "stat", "opendir" or "readdir", and the errno */
  void (*error)(void *ctx, const char *rel, const char *op, int err);
  void *ctx;
};

/* 0 when the whole tree was walked, -1 when some part could not be (each reported to error) */
int walk_tree(const char *root, const struct walk_visitor *v);
#endif
