/* Depth first, in readdir order, one descriptor per level; symlinks are not followed. */
#define _GNU_SOURCE
#include "walk.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct walker {
  const struct walk_visitor *v;
  int failed;
  char rel[1 << 16]; /* the relative path of what is being visited */
};

static void walk_error(struct walker *w, const char *op, int err) {
  w->failed = 1;
  w->v->error(w->v->ctx, w->rel, op, err);
}

static void walk_dir(struct walker *w, int fd, size_t rlen);

/* one entry of a directory; w->rel holds its relative path */
static void walk_entry(struct walker *w, int dfd, const char *name, size_t rlen) {
  struct stat st;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) { walk_error(w, "stat", errno); return; }
  if (S_ISREG(st.st_mode)) { w->v->file(w->v->ctx, dfd, name, w->rel, &st); return; }
  if (!S_ISDIR(st.st_mode)) return;
  int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) { walk_error(w, "opendir", errno); return; }
  walk_dir(w, fd, rlen);
}

/* the entries of the directory open as fd (closed here), w->rel[0..rlen) its path */
static void walk_dir(struct walker *w, int fd, size_t rlen) {
  DIR *d = fdopendir(fd);
  if (!d) { int err = errno; close(fd); walk_error(w, "opendir", err); return; }
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (!de) {
      if (errno) walk_error(w, "readdir", errno);
      break;
    }
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    size_t sep = rlen > 0, n = strlen(de->d_name);
    if (rlen + sep + n >= sizeof w->rel) { walk_error(w, "readdir", ENAMETOOLONG); continue; }
    if (sep) w->rel[rlen] = '/';
    memcpy(w->rel + rlen + sep, de->d_name, n + 1);
    walk_entry(w, fd, de->d_name, rlen + sep + n);
    w->rel[rlen] = 0;
  }
  closedir(d);
}

int walk_tree(const char *root, const struct walk_visitor *v) {
  struct walker *w = malloc(sizeof *w);
  if (!w) { v->error(v->ctx, "", "opendir", ENOMEM); return -1; }
  w->v = v;
  w->failed = 0;
  w->rel[0] = 0;
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) walk_error(w, "opendir", errno);
  else walk_dir(w, fd, 0);
  int rc = w->failed ? -1 : 0;
  free(w);
  return rc;
}
