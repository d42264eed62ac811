import { z } from "zod";
import { PerPatchRowSchema } from "../analysis/perPatchRows.js";
import { RecordHeaderSchema } from "./recordHeader.js";

/**
 * per-patch.json: a series measured prefix by prefix (its first k patches,
 * each a run folder of its own beside it), rewritten after every prefix so
 * an interrupted sweep keeps its rows and a second run of it resumes.
 */
export const PER_PATCH_SCHEMA = 1;

export const PerPatchRecordSchema = RecordHeaderSchema.extend({
  schema: z.literal(PER_PATCH_SCHEMA),
  series: z.string(),
  title: z.string(),
  /** The whole series' build every prefix was built on. */
  baseBuildKey: z.string().optional(),
  baseBuildSeconds: z.number().optional(),
  workload: z.string(),
  paths: z.array(z.string()),
  checks: z.array(z.string()),
  rows: z.array(PerPatchRowSchema),
  wallSeconds: z.number(),
});
export type PerPatchRecord = z.infer<typeof PerPatchRecordSchema>;
