import type { RunRecord } from "../../record/runRecord.js";
import { buildIdOf, buildOf, checkoutOf } from "./checkout.js";
import type { RunPlace } from "./place.js";
import { KCIDB_VERSION, KcidbDataSchema, type KcidbData } from "./kcidbSchema.js";
import { testsOf } from "./tests.js";
import { storable } from "./text.js";

/**
 * Runs as one KCIDB submission: a checkout per tree and series, a build per
 * guest kernel, the tests of every run. Runs of one kernel (a night's jobs
 * on one tree, or the same job on two nights) share their checkout and
 * build objects, sent once. Its text is made storable here, the one place
 * every string passes, and the result is checked against the schema before
 * anyone can write it.
 */
export function renderKcidb(runs: Array<{ run: RunRecord; place: RunPlace }>): KcidbData {
  const checkouts = new Map<string, ReturnType<typeof checkoutOf>>();
  const builds = new Map<string, ReturnType<typeof buildOf>>();
  const tests: KcidbData["tests"] = [];
  for (const { run, place } of runs) {
    const checkout = checkoutOf(run, place);
    if (!checkouts.has(checkout.id)) checkouts.set(checkout.id, checkout);
    // a run that stopped before its kernel tree has no build to speak of
    if (!run.kernel) continue;
    const buildId = buildIdOf(run);
    if (!builds.has(buildId)) builds.set(buildId, buildOf(run, place, checkout.id));
    tests.push(...testsOf(run, place, buildId));
  }
  return KcidbDataSchema.parse(
    storable({
      version: { ...KCIDB_VERSION },
      checkouts: [...checkouts.values()],
      builds: [...builds.values()],
      tests,
    }),
  );
}
