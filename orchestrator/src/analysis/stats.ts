import { z } from "zod";
import { figure } from "../util/schema.js";

/** Median, min and max of the boots of one cell; NaN (null in JSON) when there were none. */
export const StatSchema = z.object({ median: figure, min: figure, max: figure, n: z.number().int() });
export type Stat = z.infer<typeof StatSchema>;

export function stat(values: number[]): Stat {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

export const KIB_PER_MIB = 1024;
