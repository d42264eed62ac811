/* The reference pass (every file of A and B with sharing off: the expected bytes) and the dispatch to a check. */
#include "esbcheck.h"
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

static FILE *REF_OUT;
static const char *REF_ROOT, *REF_LABEL;
static long REF_FILES, REF_ERRORS;
static long long REF_BYTES;

static int ref_visit(const char *p, const struct stat *st, int type, struct FTW *ftw) {
  (void)ftw;
  if (type != FTW_F || !S_ISREG(st->st_mode)) return 0;
  const char *rel = p + strlen(REF_ROOT);
  while (*rel == '/') rel++;
  char hex[DIGEST_HEX];
  long long size;
  int e = hash_path(p, M_READ, hex, &size);
  struct jb b = {0};
  jb_printf(&b, "{\"t\":\"ref\",\"image\":\"%s\"", REF_LABEL);
  jb_path(&b, rel);
  if (e) {
    jb_printf(&b, ",\"errno\":%d}", e);
    REF_ERRORS++;
  } else {
    jb_printf(&b, ",\"size\":%lld,\"%s\":\"%s\"}", size, digest_name(), hex);
    fprintf(REF_OUT, "%s %lld ", hex, size);
    for (const unsigned char *c = (const unsigned char *)rel; *c; c++) fprintf(REF_OUT, "%02x", *c);
    fputc('\n', REF_OUT);
    REF_FILES++;
    REF_BYTES += size;
  }
  jb_emit(&b);
  return 0;
}

static int cmd_refs(void) {
  const char *dev[2] = {DEV_A, DEV_B}, *label[2] = {"A", "B"};
  int rc = 0;
  for (int i = 0; i < 2; i++) {
    char out[64];
    double t0 = now_ms();
    snprintf(out, sizeof out, "/tmp/ref-%s.txt", label[i]);
    int e = mount_erofs(dev[i], "/mnt/ref", NULL);
    struct jb b = {0};
    if (e) {
      jb_printf(&b, "{\"t\":\"error\",\"what\":\"refs-%s\",\"message\":\"mount %s (sharing off): %s\"}", label[i], dev[i], esc(strerror(e)));
      jb_emit(&b);
      rc = 1;
      continue;
    }
    REF_OUT = fopen(out, "w");
    REF_ROOT = "/mnt/ref"; REF_LABEL = label[i];
    REF_FILES = REF_ERRORS = 0; REF_BYTES = 0;
    int walked = nftw("/mnt/ref", ref_visit, 32, FTW_PHYS);
    fclose(REF_OUT);
    umount2("/mnt/ref", 0);
    jb_printf(&b, "{\"t\":\"refs\",\"image\":\"%s\",\"files\":%ld,\"bytes\":%lld,\"errors\":%ld,\"walk\":%d,\"ms\":%.0f,\"up\":%.0f}",
              label[i], REF_FILES, REF_BYTES, REF_ERRORS, walked, now_ms() - t0, up_ms());
    jb_emit(&b);
    if (walked != 0 || REF_ERRORS) rc = 1;
  }
  drop_caches("3");
  return rc;
}

int main(int argc, char **argv) {
  share_tmpl = getenv("ESB_SHARE");
  const char *dg = getenv("ESB_DIGEST");
  DIGEST = dg && !strcmp(dg, "sha256") ? D_SHA256 : D_XXH64;
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) { fprintf(stderr, "usage: esbcheck verify-tree ROOT REFS | verdict FAILURES ERRORS NA FINDING | refs|private-write|umount-shared|reclaim|concurrency|fadvise|mount-cycles|trust|corrupt|corrupt-same-domain|copy-up\n"); return 2; }
  const char *c = argv[1];
  if (!strcmp(c, "refs")) return cmd_refs();
  /* the verdict logic on its own, so that the host's tests reach every branch without a kernel */
  if (!strcmp(c, "verdict") && argc == 6) { printf("%s\n", verdict_of(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]))); return 0; }
  if (!strcmp(c, "verify-tree") && argc == 4) { check_verify_tree(argv[2], argv[3]); return check_end(); }
  if (!strcmp(c, "private-write")) check_private_write();
  else if (!strcmp(c, "umount-shared")) check_umount_shared();
  else if (!strcmp(c, "reclaim")) check_reclaim();
  else if (!strcmp(c, "concurrency")) check_concurrency();
  else if (!strcmp(c, "fadvise")) check_fadvise();
  else if (!strcmp(c, "mount-cycles")) check_mount_cycles();
  else if (!strcmp(c, "trust")) { check_trust(); return 0; }
  else if (!strcmp(c, "corrupt")) check_corrupt(0);
  else if (!strcmp(c, "corrupt-same-domain")) check_corrupt(1);
  else if (!strcmp(c, "copy-up")) check_copy_up();
  else {
    check_begin(c, "(unknown check)");
    not_applicable("no check named %s in this guest", c);
  }
  return check_end();
}
