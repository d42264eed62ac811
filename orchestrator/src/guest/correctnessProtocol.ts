import { z } from "zod";
import { BenchError } from "../util/errors.js";
import { jsonLines, parseGuestLine } from "./protocol.js";

/**
 * What a correctness boot sends on the esb.samples port (rootfs/README.md,
 * "Correctness phase"): esbprobe's hello, error and dmesg records around
 * esbcheck's own, which are parsed here and nowhere else. Strings and file
 * names follow esbprobe's rules (pathHex for names that are not UTF-8), and
 * lines say when they were sent (`up`, ms since the guest booted).
 */

const Named = { image: z.string(), path: z.string(), pathHex: z.string().optional() };
/** A file of A or B read with sharing off: the bytes every check expects. */
const RefLine = z.object({
  t: z.literal("ref"),
  ...Named,
  size: z.number().optional(),
  xxh64: z.string().optional(),
  sha256: z.string().optional(),
  errno: z.number().optional(),
});
/** The end of an image's reference pass. */
const RefsLine = z.object({
  t: z.literal("refs"),
  image: z.string(),
  files: z.number(),
  bytes: z.number(),
  errors: z.number(),
  walk: z.number(),
  ms: z.number(),
  up: z.number(),
});
const CheckBegin = z.object({
  t: z.literal("check-begin"),
  name: z.string(),
  proves: z.string(),
  up: z.number().optional(),
});
/** A raw step: which fields it has depends on the step (see esbcheck). */
const CheckStep = z.looseObject({
  t: z.literal("check-step"),
  check: z.string(),
  step: z.string(),
  ms: z.number().optional(),
});
const GUEST_RESULTS = ["pass", "fail", "na", "finding", "error"] as const;
const CheckLine = z.object({
  t: z.literal("check"),
  name: z.string(),
  result: z.enum(GUEST_RESULTS),
  reason: z.string(),
  proves: z.string(),
  ms: z.number(),
  up: z.number().optional(),
  details: z.record(z.string(), z.unknown()),
});

type RefRecord = z.infer<typeof RefLine>;
type CheckResultLine = z.infer<typeof CheckLine>;
type CheckStepLine = z.infer<typeof CheckStep>;

export interface CheckStream {
  release?: string;
  /** When the guest's init began, ms since boot. */
  bootUp?: number;
  refs: RefRecord[];
  refsDone: Array<z.infer<typeof RefsLine>>;
  begun: Array<{ name: string; up?: number }>;
  results: CheckResultLine[];
  steps: CheckStepLine[];
  errors: Array<{ what: string; message: string }>;
  /** The guest sent its kernel log: it got to its end. */
  complete: boolean;
  /** When the guest sent its last line, ms since boot. */
  endUp?: number;
}

const CORRECTNESS = z.discriminatedUnion("t", [RefLine, RefsLine, CheckBegin, CheckStep, CheckLine]);
const OWN = new Set(["ref", "refs", "check-begin", "check-step", "check"]);

/**
 * Reads the lines of a correctness boot. A torn last line (the guest died
 * mid-write) ends the stream; any other line that is not JSON, or a record
 * this phase does not send, is an error naming it.
 */
export function parseCheckStream(text: string, source = "samples"): CheckStream {
  const s: CheckStream = { refs: [], refsDone: [], begun: [], results: [], steps: [], errors: [], complete: false };
  for (const { value, at } of jsonLines(text, source)) {
    const t = (value as { t?: unknown } | null)?.t;
    if (typeof t === "string" && OWN.has(t)) {
      const p = CORRECTNESS.safeParse(value);
      if (!p.success)
        throw new BenchError(
          `${at}: unexpected ${t} record: ${p.error.issues[0]?.path.join(".")} ${p.error.issues[0]?.message}`,
        );
      const o = p.data;
      switch (o.t) {
        case "ref":
          s.refs.push(o);
          break;
        case "refs":
          s.refsDone.push(o);
          break;
        case "check-begin":
          s.begun.push({ name: o.name, up: o.up });
          break;
        case "check-step":
          s.steps.push(o);
          break;
        case "check":
          s.results.push(o);
          break;
      }
      continue;
    }
    const o = parseGuestLine(value, at);
    if (o.t === "hello") {
      s.release = o.release;
      s.bootUp = o.up;
    } else if (o.t === "error") s.errors.push({ what: o.what, message: o.message });
    else if (o.t === "dmesg") {
      s.complete = true;
      s.endUp = o.up;
    } else throw new BenchError(`${at}: a ${o.t} record in a correctness boot`);
  }
  return s;
}
