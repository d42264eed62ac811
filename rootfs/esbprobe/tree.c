/* Walking an image: every part the walk cannot get through is a file-error line, counted with the files that failed. */
#include "esbprobe.h"
#include <stdio.h>

const char *g_image;
long g_errors;

void file_error(const char *rel, const char *op, int err, unsigned long long bytes) {
  struct jb b = {0};
  g_errors++;
  jb_printf(&b, "{\"t\":\"file-error\",\"image\":"); jb_str(&b, g_image);
  jb_path(&b, rel);
  jb_printf(&b, ",\"op\":\"%s\",\"errno\":%d,\"bytes\":%llu}", op, err, bytes);
  emit(&b);
}

struct image_walk { file_visitor visit; };

static void on_file(void *ctx, int dfd, const char *name, const char *rel, const struct stat *st) {
  ((struct image_walk *)ctx)->visit(dfd, name, rel, st);
}

static void on_error(void *ctx, const char *rel, const char *op, int err) {
  (void)ctx;
  file_error(rel, op, err, 0);
}

int walk_image(const char *root, file_visitor v) {
  struct image_walk iw = {v};
  struct walk_visitor w = {on_file, on_error, &iw};
  return walk_tree(root, &w);
}
