/* Checks with extra images: a forged fingerprint (trust) and corrupted copies of A (corrupt). */
#include "esbcheck.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the case list (/check/cases) for trust and corrupt ---- */
struct kase { char kind[16], dev[32], name[64], path[1024], expect[32]; };
static int load_cases(const char *kind, struct kase *out, int max) {
  FILE *f = open_case_list();
  int n = 0;
  if (!f) return 0;
  char line[2048];
  while (n < max && fgets(line, sizeof line, f)) {
    struct kase k = {0};
    if (line[0] == '#') continue;
    if (!strncmp(line, "trust ", 6)) {
      if (sscanf(line, "%15s %31s %1023s", k.kind, k.dev, k.path) != 3) continue;
      strcpy(k.name, "forged");
    } else if (sscanf(line, "%15s %31s %63s %1023s %31s", k.kind, k.dev, k.name, k.path, k.expect) != 5) continue;
    if (strcmp(k.kind, kind)) continue;
    out[n++] = k;
  }
  fclose(f);
  return n;
}

/* whose bytes a read served: "own", "A" (the donor's) or "other"/error */
static const char *classify(const char *root, const char *rel, enum method m, const struct ref *own, const struct ref *donor, char *hex) {
  char path[4096];
  long long size;
  snprintf(path, sizeof path, "%s/%s", root, rel);
  int e = hash_path(path, m, hex, &size);
  if (e) return "error";
  if (own && !strcmp(hex, own->digest)) return "own";
  if (donor && !strcmp(hex, donor->digest)) return "donor";
  return "other";
}

/* what a classified read served, in words; `other` names the image whose bytes "donor" means */
static const char *served_as(const char *what, const char *other) {
  static char bufs[4][64];
  static int k;
  char *o = bufs[k++ & 3];
  if (!strcmp(what, "own")) return "own bytes";
  if (!strcmp(what, "donor")) { snprintf(o, sizeof bufs[0], "%s bytes", other); return o; }
  if (!strcmp(what, "other")) return "neither's bytes";
  if (!strcmp(what, "error")) return "read error";
  return "not mounted";
}

/* one of trust's two result lines (its RESULT rows in checks.def) */
static void trust_result(const char *name, const char *result, const char *reason) {
  check_result(name, result_proves(name), result, reason);
}

/* ---- fingerprints and domains crafted against the key's layout (craft lines) ---- */
struct craft { char name[64], dev[32], path[1024], victim[128], domain[128], domain_hex[260]; };

static int unhex(const char *hex, char *out, size_t cap) {
  size_t n = strlen(hex);
  if (n % 2 || n / 2 >= cap) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1 || v == 0) return -1;
    out[i] = (char)v;
  }
  out[n / 2] = 0;
  return 0;
}

static int load_crafts(struct craft *out, int max) {
  FILE *f = open_case_list();
  int n = 0;
  if (!f) return 0;
  char line[2048], vhex[260], dhex[260];
  while (n < max && fgets(line, sizeof line, f)) {
    struct craft c = {0};
    if (strncmp(line, "craft ", 6)) continue;
    if (sscanf(line + 6, "%63s %31s %1023s %259s %259s", c.name, c.dev, c.path, vhex, dhex) != 5) continue;
    if (unhex(vhex, c.victim, sizeof c.victim) || unhex(dhex, c.domain, sizeof c.domain)) continue;
    snprintf(c.domain_hex, sizeof c.domain_hex, "%s", dhex);
    out[n++] = c;
  }
  fclose(f);
  return n;
}

/*
 * Each crafted image (or the forged one in a crafted domain) beside A in its
 * own domain, read in both orders: any byte served across is a leak between
 * domains. A crafted mount the kernel refuses leaks nothing and is recorded.
 * The cases that served the other's bytes are listed in `bad`; returns how
 * many cases ran.
 */
static int run_crafted(const struct ref *ra, const struct ref *rb, char *bad, size_t cap) {
  struct craft cs[16];
  int n = load_crafts(cs, 16), ran = 0;
  if (!n) return 0;
  struct jb out = {0};
  jb_put(&out, "[", 1);
  for (int i = 0; i < n; i++) {
    char dev[64], o[512], served[2][2][16] = {{"", ""}, {"", ""}};
    snprintf(dev, sizeof dev, "/dev/%s", cs[i].dev);
    int refused = 0;
    for (int order = 0; order < 2; order++) {
      int ea = mount_erofs(DEV_A, MA, share_opts(cs[i].victim, o, sizeof o));
      if (ea) { fail("mount of A in domain %s for crafted case %s: %s", cs[i].victim, cs[i].name, strerror(ea)); teardown(); break; }
      int ef = mount_erofs(dev, MB, share_opts(cs[i].domain, o, sizeof o));
      if (ef) { refused = ef; teardown(); break; }
      char h1[DIGEST_HEX], h2[DIGEST_HEX];
      const char *sa, *sf;
      if (order) { sf = classify(MB, cs[i].path, M_READ, rb, ra, h2); sa = classify(MA, cs[i].path, M_MMAP, ra, rb, h1); }
      else { sa = classify(MA, cs[i].path, M_READ, ra, rb, h1); sf = classify(MB, cs[i].path, M_MMAP, rb, ra, h2); }
      snprintf(served[order][0], 16, "%s", sa);
      snprintf(served[order][1], 16, "%s", sf);
      teardown();
      drop_caches("3");
      if (strcmp(sa, "own") || strcmp(sf, "own")) {
        size_t used = strlen(bad);
        snprintf(bad + used, cap - used, "%s%s (%s read first -> A %s, crafted %s)", used ? "; " : "", cs[i].name,
                 order ? "crafted" : "A", served_as(sa, "crafted's"), served_as(sf, "A's"));
      }
    }
    ran++;
    jb_printf(&out, "%s{\"case\":\"%s\",\"domainHex\":\"%s\",\"refused\":\"%s\",\"Afirst\":[\"%s\",\"%s\"],\"craftedFirst\":[\"%s\",\"%s\"]}",
              i ? "," : "", esc(cs[i].name), cs[i].domain_hex, refused ? strerror(refused) : "", served[0][0], served[0][1], served[1][0], served[1][1]);
    step("trust-craft", "\"case\":\"%s\",\"refused\":\"%s\"", esc(cs[i].name), refused ? strerror(refused) : "");
  }
  jb_put(&out, "]", 1);
  det_raw("crafted", out.s);
  free(out.s);
  return ran;
}

void check_trust(void) {
  struct kase ks[4];
  int n = load_cases("trust", ks, 4);
  if (setup(0, 0)) {
    kmsg_collect();
    const char *v = verdict_of(C.failures, C.tool_errors, C.na, 0);
    trust_result("trust-same-domain", v, C.reason);
    trust_result("trust-cross-domain", v, C.reason);
    return;
  }
  if (!n) {
    trust_result("trust-same-domain", "na", "no forged image attached (no trust line in the case list)");
    trust_result("trust-cross-domain", "na", "no forged image attached (no trust line in the case list)");
    return;
  }
  char dev[64];
  snprintf(dev, sizeof dev, "/dev/%s", ks[0].dev);
  const char *rel = ks[0].path;
  struct ref *ra = ref_find(&REF_A, rel), *rb = ref_find(&REF_B, rel);
  det_str("forgedImage", dev);
  det_str("path", rel);
  if (!ra || !rb || !strcmp(ra->digest, rb->digest)) {
    const char *why = "the forged path is not a file that differs between A and B";
    trust_result("trust-same-domain", "na", why);
    trust_result("trust-cross-domain", "na", why);
    return;
  }
  /* four runs: same domain A first / forged first, different domains A first / forged first */
  const char *served[4][2] = {{"not-mounted", "not-mounted"}, {"not-mounted", "not-mounted"}, {"not-mounted", "not-mounted"}, {"not-mounted", "not-mounted"}};
  int cross_bad = 0;
  struct jb cases = {0};
  jb_put(&cases, "[", 1);
  for (int run = 0; run < 4; run++) {
    int same = run < 2, forged_first = run & 1;
    char o[512];
    int ea = mount_erofs(DEV_A, MA, share_opts(same ? "esb" : "esb-a", o, sizeof o));
    int eb = mount_erofs(dev, MB, share_opts(same ? "esb" : "esb-b", o, sizeof o));
    if (ea || eb) { fail("mount for run %d: %s", run, strerror(ea ? ea : eb)); teardown(); continue; }
    char h1[DIGEST_HEX] = "", h2[DIGEST_HEX] = "";
    const char *sa, *sf;
    if (forged_first) {
      sf = classify(MB, rel, M_READ, rb, ra, h2);
      sa = classify(MA, rel, M_MMAP, ra, rb, h1);
    } else {
      sa = classify(MA, rel, M_READ, ra, rb, h1);
      sf = classify(MB, rel, M_MMAP, rb, ra, h2);
    }
    served[run][0] = sa; served[run][1] = sf;
    jb_printf(&cases, "%s{\"domains\":\"%s\",\"first\":\"%s\",\"A\":\"%s\",\"forged\":\"%s\"}", run ? "," : "",
              same ? "same" : "different", forged_first ? "forged" : "A", sa, sf);
    step("trust-run", "\"domains\":\"%s\",\"first\":\"%s\",\"A\":\"%s\",\"forged\":\"%s\"", same ? "same" : "different", forged_first ? "forged" : "A", sa, sf);
    if (!same && (strcmp(sa, "own") || strcmp(sf, "own"))) cross_bad = 1;
    teardown();
    drop_caches("3");
  }
  jb_put(&cases, "]", 1);
  det_raw("runs", cases.s);
  free(cases.s);
  char crafted_bad[1024] = "";
  int crafted_runs = run_crafted(ra, rb, crafted_bad, sizeof crafted_bad);
  if (crafted_bad[0]) cross_bad = 1;
  kmsg_collect();
  int splat = C.failures > 0;
  char reason[2048];
  /* same domain: described from what was served; a finding when an image served the other's bytes */
  snprintf(reason, sizeof reason, "same domain: A read first -> A %s, forged %s; forged read first -> forged %s, A %s",
           served_as(served[0][0], "forged's"), served_as(served[0][1], "A's"), served_as(served[1][1], "A's"), served_as(served[1][0], "forged's"));
  int trusted = strcmp(served[0][0], "own") || strcmp(served[0][1], "own") || strcmp(served[1][0], "own") || strcmp(served[1][1], "own");
  if (!trusted) strcat(reason, " (the forged fingerprint was not trusted)");
  C.finding = trusted;
  trust_result("trust-same-domain", splat ? "fail" : trusted ? "finding" : "pass", splat ? C.reason : reason);
  if (cross_bad || splat) {
    snprintf(reason, sizeof reason, "%.1000s%sdifferent domains: A read first -> A %s, forged %s; forged read first -> forged %s, A %s%s%.700s",
             splat ? C.reason : "", splat ? "; " : "", served_as(served[2][0], "forged's"), served_as(served[2][1], "A's"),
             served_as(served[3][1], "A's"), served_as(served[3][0], "forged's"), crafted_bad[0] ? "; crafted against the key: " : "", crafted_bad);
    trust_result("trust-cross-domain", "fail", reason);
  } else {
    snprintf(reason, sizeof reason, "in different domains each image served its own bytes in both orders%s",
             crafted_runs ? ", also for every fingerprint and domain crafted against the key's layout" : "");
    if (crafted_runs) {
      char n[64];
      snprintf(n, sizeof n, " (%d crafted case(s))", crafted_runs);
      strcat(reason, n);
    }
    trust_result("trust-cross-domain", "pass", reason);
  }
}

/*
 * corrupt: each corrupted copy of A beside the clean image B, read corrupted
 * first so that whatever it puts in a shared cache is what B would get.
 * Across domains (the fail criterion) nothing may reach B and each copy is
 * refused or served within what its corruption allows (its EXPECT). In B's
 * own domain (corrupt-same-domain) a lie that reaches B is the trust model
 * at work: a finding, named per case; the kernel must still not oops or warn.
 */
void check_corrupt(void) {
  int same_domain = C.arg; /* corrupt-same-domain */
  struct kase ks[64];
  int n = load_cases("corrupt", ks, 64);
  if (setup(1, 0)) return;
  if (!n) { not_applicable("no corrupted images attached (no corrupt lines in the case list)"); return; }
  const char *only = getenv("ESB_ONLY"); /* comma list of case names, for a re-run after an oops */
  const char *domain = same_domain ? "esb" : "esb-corrupt";
  det_str("corruptDomain", domain);
  if (mount_shared(DEV_B, MB, "esb")) return;
  struct jb out = {0}, lied = {0}, own = {0};
  jb_put(&out, "[", 1);
  int refused = 0, mounted = 0, reached_b = 0, own_lies = 0;
  for (int c = 0; c < n; c++) {
    struct kase *k = &ks[c];
    if (only && *only) {
      char pat[80];
      snprintf(pat, sizeof pat, ",%s,", k->name);
      char all[2048];
      snprintf(all, sizeof all, ",%s,", only);
      if (!strstr(all, pat)) continue;
    }
    char dev[64], o[512];
    snprintf(dev, sizeof dev, "/dev/%s", k->dev);
    step("case-begin", "\"case\":\"%s\",\"dev\":\"%s\",\"domain\":\"%s\"", esc(k->name), esc(k->dev), domain);
    int e = mount_erofs(dev, "/mnt/cx", share_opts(domain, o, sizeof o));
    long ok = 0, wrong = 0, errors = 0, hit_state = 0, other_bad = 0;
    const char *hit = strcmp(k->path, "-") ? k->path : NULL;
    char first_bad[512] = "";
    if (!e) {
      mounted++;
      for (int i = 0; i < REF_A.n; i++) {
        struct ref *r = &REF_A.v[i];
        char path[4096], hex[DIGEST_HEX] = "";
        long long size = -1;
        snprintf(path, sizeof path, "/mnt/cx/%s", r->path);
        int is_hit = hit && !strcmp(hit, r->path);
        for (int m = 0; m < (is_hit ? M_COUNT : 1); m++) {
          int err = hash_path(path, (enum method)m, hex, &size);
          int good = !err && size == r->size && !strcmp(hex, r->digest);
          if (good) ok++; else if (err) errors++; else wrong++;
          if (is_hit) hit_state |= good ? 1 : err ? 2 : 4;
          else if (!good) {
            other_bad++;
            if (!first_bad[0]) snprintf(first_bad, sizeof first_bad, "%s: %s", r->path, err ? strerror(err) : "wrong bytes");
          }
        }
      }
    }
    /* the clean image, while the corrupted one is still mounted with its inodes cached */
    long bbad = 0;
    for (int i = 0; i < NSHARED; i++) {
      enum method m = (enum method)(i % M_COUNT);
      if (!same_domain) { if (verify("B", MB, SHARED[i], m)) bbad++; continue; }
      /* in B's own domain a wrong read is what the trust model allows: counted and named, not failed */
      char path[4096], hex[DIGEST_HEX] = "";
      long long size = -1;
      snprintf(path, sizeof path, "%s/%s", MB, SHARED[i]->path);
      int err = hash_path(path, m, hex, &size);
      if (err || size != SHARED[i]->size || strcmp(hex, SHARED[i]->digest)) {
        bbad++;
        step("verify", "\"image\":\"B\",\"path\":\"%s\",\"method\":\"%s\",\"ok\":false,\"errno\":%d,\"size\":%lld,\"%s\":\"%s\",\"trusted\":true", esc(SHARED[i]->path), METHOD[m], err, size, digest_name(DIGEST), hex);
      }
    }
    if (!e) {
      int eu = do_umount("/mnt/cx", 0);
      if (eu) { fail("%s: umount of the corrupted image: %s", k->name, strerror(eu)); umount_quiet("/mnt/cx"); }
    } else refused++;
    int strict_all = !strcmp(k->expect, "all-correct"), strict_others = strict_all || !strcmp(k->expect, "others-correct");
    /* a copy whose file claims another of its own files' fingerprint: inside its own domain that lie is trusted by design */
    int own_lie = !strcmp(k->expect, "trusted-lie");
    const char *verdict = "ok";
    if (bbad && same_domain) {
      verdict = "trusted-lie";
      reached_b++;
      jb_printf(&lied, "%s%s (%ld file(s))", lied.n ? ", " : "", k->name, bbad);
    } else if (bbad) { verdict = "clean-image-wrong"; fail("%s: the clean image B, in another domain, read %ld shared file(s) wrong", k->name, bbad); }
    else if (!same_domain && !e && own_lie && (other_bad || (hit_state & ~1))) {
      verdict = "own-lie-served";
      own_lies++;
      jb_printf(&own, "%s%s (%s)", own.n ? ", " : "", k->name, first_bad[0] ? first_bad : hit);
    }
    else if (!same_domain && !e && strict_others && other_bad) { verdict = "served-wrong"; fail("%s: mounted, and %s", k->name, first_bad); }
    else if (!same_domain && !e && strict_all && hit && (hit_state & ~1)) { verdict = "served-wrong"; fail("%s: mounted, and the hit file %s read wrong or failed", k->name, hit); }
    const char *outcome = e ? "refused" : "mounted";
    const char *hit_word = !hit ? "-" : hit_state == 1 ? "correct" : hit_state & 4 ? "wrong" : hit_state & 2 ? (hit_state & 1 ? "mixed" : "error") : "-";
    step("case", "\"case\":\"%s\",\"domain\":\"%s\",\"outcome\":\"%s\",\"errno\":%d,\"ok\":%ld,\"wrong\":%ld,\"errors\":%ld,\"hit\":%ld,\"bWrong\":%ld,\"expect\":\"%s\",\"verdict\":\"%s\"",
         k->name, domain, outcome, e, ok, wrong, errors, hit_state, bbad, k->expect, verdict);
    jb_printf(&out, "%s{\"case\":\"%s\",\"outcome\":\"%s\",\"errno\":%d,\"ok\":%ld,\"wrong\":%ld,\"errors\":%ld,\"hitFile\":\"%s\",\"bWrong\":%ld,\"verdict\":\"%s\"}",
              out.n > 1 ? "," : "", k->name, outcome, e, ok, wrong, errors, hit_word, bbad, verdict);
    drop_caches("3");
  }
  jb_put(&out, "]", 1);
  det_raw("cases", out.s);
  free(out.s);
  det_int("refused", refused);
  det_int("mounted", mounted);
  det_int("casesReachingB", reached_b);
  if (reached_b)
    finding("in the clean image's own domain, %d corrupted cop%s reached what B reads: %s (a fingerprint is trusted within its domain by design; a kernel that refuses to share files whose sizes differ, as mainline does, stops a lie about the size)",
            reached_b, reached_b == 1 ? "y" : "ies", lied.s);
  free(lied.s);
  det_int("ownLiesServed", own_lies);
  if (own_lies)
    finding("%d corrupted cop%s served %s own files each other's bytes under a claimed fingerprint: %s (trusted within the copy's own domain; a kernel that refuses to share files whose sizes differ, as mainline does, reads them right)",
            own_lies, own_lies == 1 ? "y" : "ies", own_lies == 1 ? "its" : "their", own.s);
  free(own.s);
  if (same_domain) summary("%d corrupted images refused, %d mounted in the clean image's domain; the clean image read right throughout", refused, mounted);
  else summary("%d corrupted images refused, %d mounted in another domain within what each corruption allows; the clean image read right throughout", refused, mounted);
  teardown();
}
