import { z } from "zod";
import { TargetResultSchema } from "../analysis/knownAnswerVerdicts.js";
import { RecordHeaderSchema } from "./recordHeader.js";

/**
 * known-answer.json: a known-answer run (mainline and its kernel mutants, each
 * a run folder of its own beside it), the matrix judged from them, and what
 * it cost. Rewritten after every target, so a run that dies keeps what it judged.
 */
export const KNOWN_ANSWER_SCHEMA = 1;

export const KnownAnswerRecordSchema = RecordHeaderSchema.extend({
  schema: z.literal(KNOWN_ANSWER_SCHEMA),
  /** The series the mutants patch, and the kernel it built. */
  series: z.string(),
  kernelRelease: z.string().optional(),
  workload: z.string(),
  signals: z.array(z.string()),
  targets: z.array(TargetResultSchema),
  /** Where the time went, per target: its whole run, and its kernel builds (the base's, then the mutant's). */
  costs: z.array(
    z.object({ target: z.string(), wallSeconds: z.number(), buildSeconds: z.number(), reusedBuild: z.boolean() }),
  ),
  /** Defects of this tool the matrix shows (missed, unexpected, inconclusive cells), as lines. */
  problems: z.array(z.string()),
  /** Failures that are no defect of this tool: the base kernel's own (known) and intermittent ones, as lines. */
  notes: z.array(z.string()).default([]),
});
export type KnownAnswerRecord = z.infer<typeof KnownAnswerRecordSchema>;
