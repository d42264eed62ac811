import { z } from "zod";
import { RecordHeaderSchema } from "./recordHeader.js";

/**
 * bisect.json: a bisection of one row over GOOD..BAD of a tree, every step
 * with its measurements and what was decided, rewritten after each step so
 * an interrupted bisection resumes where it stopped.
 */
export const BISECT_SCHEMA = 1;

const MeasuredSchema = z.object({
  samples: z.array(z.number()),
  failed: z.number().int(),
  of: z.number().int(),
  runDir: z.string(),
});

const BisectStepSchema = z.object({
  commit: z.string(),
  subject: z.string(),
  /** A figure's samples (efficiency, %), or a check's failing boots of all its boots. */
  samples: z.array(z.number()),
  failed: z.number().int(),
  of: z.number().int(),
  verdict: z.enum(["good", "bad", "unsure"]),
  /** What git bisect was told. */
  action: z.enum(["good", "bad", "skip"]),
  /** Why it was skipped without a verdict (does not build, lacks the feature, could not be judged). */
  note: z.string().optional(),
  runDirs: z.array(z.string()),
});
export type BisectStep = z.infer<typeof BisectStepSchema>;

export const BisectRecordSchema = RecordHeaderSchema.extend({
  schema: z.literal(BISECT_SCHEMA),
  repo: z.string(),
  profile: z.string(),
  good: z.string(),
  bad: z.string(),
  /** check:NAME or efficiency:WORKLOAD/PATH. */
  row: z.string(),
  cap: z.number().int(),
  ends: z.object({ good: MeasuredSchema, bad: MeasuredSchema }).optional(),
  steps: z.array(BisectStepSchema),
  firstBad: z.string().optional(),
  /** When only skipped commits were left: the first bad commit is one of these. */
  candidates: z.array(z.string()).optional(),
  /** git bisect log. */
  log: z.string(),
});
export type BisectRecord = z.infer<typeof BisectRecordSchema>;
