/*
 * The reference pass: every regular file of A and B read with sharing off,
 * the bytes every check expects. A file that cannot be read, or a part of
 * the tree that cannot be walked, is a ref line with its errno and fails
 * the pass: the checks would otherwise trust a partial list.
 */
#include "esbcheck.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

struct ref_pass { FILE *out; const char *image; long files, errors; long long bytes; };

static void ref_file(void *ctx, int dfd, const char *name, const char *rel, const struct stat *st) {
  (void)st; /* the size is what the read delivered */
  struct ref_pass *p = ctx;
  char hex[DIGEST_HEX];
  long long size = 0;
  int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
  int e = fd < 0 ? errno : hash_fd(fd, M_READ, hex, &size);
  struct jb b = {0};
  jb_printf(&b, "{\"t\":\"ref\",\"image\":"); jb_str(&b, p->image);
  jb_path(&b, rel);
  if (e) {
    jb_printf(&b, ",\"errno\":%d}", e);
    p->errors++;
  } else {
    jb_printf(&b, ",\"size\":%lld,\"%s\":\"%s\"}", size, digest_name(DIGEST), hex);
    fprintf(p->out, "%s %lld ", hex, size);
    for (const unsigned char *c = (const unsigned char *)rel; *c; c++) fprintf(p->out, "%02x", *c);
    fputc('\n', p->out);
    p->files++;
    p->bytes += size;
  }
  jb_emit(&b);
}

static void ref_walk_error(void *ctx, const char *rel, const char *op, int err) {
  struct ref_pass *p = ctx;
  struct jb b = {0};
  p->errors++;
  jb_printf(&b, "{\"t\":\"ref\",\"image\":"); jb_str(&b, p->image);
  jb_path(&b, rel);
  jb_printf(&b, ",\"op\":\"%s\",\"errno\":%d}", op, err);
  jb_emit(&b);
}

/* walks root into ref lines and the list at `file`: p's counts, and the walk's status (0: all of it) */
static int ref_walk(const char *root, const char *file, struct ref_pass *p) {
  p->out = fopen(file, "w");
  if (!p->out) {
    struct jb b = {0};
    jb_printf(&b, "{\"t\":\"error\",\"what\":\"refs-%s\",\"message\":\"cannot write %s: %s\"}", esc(p->image), esc(file), esc(strerror(errno)));
    jb_emit(&b);
    return -1;
  }
  struct walk_visitor v = {ref_file, ref_walk_error, p};
  int walked = walk_tree(root, &v);
  fclose(p->out);
  return walked;
}

/* the end of one image's pass; 0 when every file was read */
static int refs_line(const struct ref_pass *p, int walked, double t0) {
  struct jb b = {0};
  jb_printf(&b, "{\"t\":\"refs\",\"image\":"); jb_str(&b, p->image);
  jb_printf(&b, ",\"files\":%ld,\"bytes\":%lld,\"errors\":%ld,\"walk\":%d,\"ms\":%.0f,\"up\":%.0f}",
            p->files, p->bytes, p->errors, walked, now_ms() - t0, up_ms());
  jb_emit(&b);
  return walked != 0 || p->errors ? 1 : 0;
}

int ref_tree(const char *root, const char *image, const char *file, double t0) {
  struct ref_pass p = {NULL, image, 0, 0, 0};
  int walked = ref_walk(root, file, &p);
  return refs_line(&p, walked, t0);
}

int cmd_refs(void) {
  const char *dev[2] = {DEV_A, DEV_B}, *label[2] = {"A", "B"};
  int rc = 0;
  for (int i = 0; i < 2; i++) {
    char out[64];
    double t0 = now_ms();
    snprintf(out, sizeof out, "/tmp/ref-%s.txt", label[i]);
    int e = mount_erofs(dev[i], "/mnt/ref", NULL);
    if (e) {
      struct jb b = {0};
      jb_printf(&b, "{\"t\":\"error\",\"what\":\"refs-%s\",\"message\":\"mount %s (sharing off): %s\"}", label[i], dev[i], esc(strerror(e)));
      jb_emit(&b);
      rc = 1;
      continue;
    }
    struct ref_pass p = {NULL, label[i], 0, 0, 0};
    int walked = ref_walk("/mnt/ref", out, &p);
    umount2("/mnt/ref", 0);
    if (refs_line(&p, walked, t0)) rc = 1;
  }
  drop_caches("3");
  return rc;
}
