/* The command line: the reference pass, a check of the table, or a host-side tool for the tests. */
#include "esbcheck.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  share_tmpl = getenv("ESB_SHARE");
  const char *dg = getenv("ESB_DIGEST");
  DIGEST = dg && !strcmp(dg, "sha256") ? DIGEST_SHA256 : DIGEST_XXH64;
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    fprintf(stderr, "usage: esbcheck refs | list | table | CHECK (see esbcheck list) | refs-tree DIR IMAGE FILE | verify-tree DIR FILE | verdict FAILURES ERRORS NA FINDING | leak-report FILE\n");
    return 2;
  }
  const char *c = argv[1];
  if (!strcmp(c, "refs")) return cmd_refs();
  if (!strcmp(c, "list")) return list_checks();
  if (!strcmp(c, "table")) return print_check_table();
  /* the reference pass over any directory, so that the host's tests reach its walk without a kernel */
  if (!strcmp(c, "refs-tree") && argc == 5) return ref_tree(argv[2], argv[3], argv[4], now_ms());
  /* the verdict logic on its own, so that the host's tests reach every branch without a kernel */
  if (!strcmp(c, "verdict") && argc == 6) { printf("%s\n", verdict_of(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]))); return 0; }
  if (!strcmp(c, "verify-tree") && argc == 4) { check_verify_tree(argv[2], argv[3]); return check_end(); }
  /* the leak oracle over a saved kmemleak report, so that the host's tests reach its parser without a kernel */
  if (!strcmp(c, "leak-report") && argc == 3) {
    static char report[1 << 17];
    check_begin("leak-report", "a kmemleak report judged");
    if (!read_text(argv[2], report, sizeof report)) tool_error("cannot read %s", argv[2]);
    else kmemleak_verdict(report);
    return check_end();
  }
  const struct check_row *row = find_check(c);
  if (row) return run_check(row);
  check_begin(c, "(unknown check)");
  not_applicable("no check named %s in this guest", c);
  return check_end();
}
