import { z } from "zod";

/** Where a long run stands: "running" until it ends, so a record read mid-run says so. */
export const RECORD_STATUSES = ["running", "complete", "failed", "interrupted"] as const;

/**
 * What a sweep's record (bisect.json, known-answer.json, per-patch.json)
 * starts with: its version, where it stands and the command that made it,
 * defined once so the sweeps agree on how a record says it is running,
 * finished or was cut short. Each record narrows `schema` to its own
 * version (extend keeps the key where it was, first).
 */
export const RecordHeaderSchema = z.object({
  schema: z.number().int(),
  status: z.enum(RECORD_STATUSES),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  command: z.array(z.string()),
});
