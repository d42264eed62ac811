/* The checks of checks.def: their dispatch, and the table as `esbcheck list` and `esbcheck table` print it. */
#include "esbcheck.h"
#include <stdio.h>
#include <string.h>

static const struct check_row CHECKS[] = {
#define CHECK(name, function, argument, needs, typical_s, timeout_s, neighbours, proves) {name, function, argument, #needs, typical_s, timeout_s, #neighbours, proves},
#define RESULT(check, name, proves)
#include "checks.def"
#undef CHECK
#undef RESULT
};
#define NCHECKS (sizeof CHECKS / sizeof CHECKS[0])

struct result_row { const char *check, *name, *proves; };
static const struct result_row RESULTS[] = {
#define CHECK(name, function, argument, needs, typical_s, timeout_s, neighbours, proves)
#define RESULT(check, name, proves) {check, name, proves},
#include "checks.def"
#undef CHECK
#undef RESULT
  {NULL, NULL, NULL} /* the table may have no RESULT row */
};

const struct check_row *find_check(const char *name) {
  for (size_t i = 0; i < NCHECKS; i++) if (!strcmp(CHECKS[i].name, name)) return &CHECKS[i];
  return NULL;
}

static int writes_own_results(const struct check_row *row) {
  for (const struct result_row *r = RESULTS; r->check; r++) if (!strcmp(r->check, row->name)) return 1;
  return 0;
}

const char *result_proves(const char *result) {
  for (const struct result_row *r = RESULTS; r->check; r++) if (!strcmp(r->name, result)) return r->proves;
  return "";
}

int run_check(const struct check_row *row) {
  check_begin(row->name, row->proves);
  C.arg = row->arg;
  row->run();
  if (writes_own_results(row)) return 0;
  return check_end();
}

int list_checks(void) {
  for (size_t i = 0; i < NCHECKS; i++) printf("%s\n", CHECKS[i].name);
  return 0;
}

int print_check_table(void) {
  for (size_t i = 0; i < NCHECKS; i++) {
    const struct check_row *c = &CHECKS[i];
    struct jb b = {0};
    jb_printf(&b, "{\"name\":"); jb_str(&b, c->name);
    jb_printf(&b, ",\"argument\":%d,\"needs\":", c->arg); jb_str(&b, c->needs);
    jb_printf(&b, ",\"typicalSeconds\":%d,\"timeoutSeconds\":%d,\"neighbours\":", c->typical_s, c->timeout_s); jb_str(&b, c->neighbours);
    jb_printf(&b, ",\"proves\":"); jb_str(&b, c->proves);
    jb_printf(&b, ",\"results\":[");
    int n = 0;
    for (const struct result_row *r = RESULTS; r->check; r++) {
      if (strcmp(r->check, c->name)) continue;
      jb_printf(&b, "%s{\"name\":", n++ ? "," : ""); jb_str(&b, r->name);
      jb_printf(&b, ",\"proves\":"); jb_str(&b, r->proves); jb_printf(&b, "}");
    }
    if (!n) { jb_printf(&b, "{\"name\":"); jb_str(&b, c->name); jb_printf(&b, ",\"proves\":"); jb_str(&b, c->proves); jb_printf(&b, "}"); }
    jb_printf(&b, "]}");
    jb_emit(&b);
  }
  return 0;
}
