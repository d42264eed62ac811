/**
 * bisect.json, known-answer.json and per-patch.json start with one header:
 * the same keys, read the same way, each record with its own version.
 */
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { BISECT_SCHEMA, BisectRecordSchema } from "../../../src/record/bisectRecord.js";
import { KNOWN_ANSWER_SCHEMA, KnownAnswerRecordSchema } from "../../../src/record/knownAnswerRecord.js";
import { PER_PATCH_SCHEMA, PerPatchRecordSchema } from "../../../src/record/perPatchRecord.js";
import { RecordHeaderSchema } from "../../../src/record/recordHeader.js";

const header = {
  status: "complete",
  startedAt: "2026-01-02T03:04:05.000Z",
  finishedAt: "2026-01-02T04:04:05.000Z",
  command: ["tsx", "orchestrator/src/cli.ts"],
};
const RECORDS: Array<[string, z.ZodObject, number, Record<string, unknown>]> = [
  [
    "bisect.json",
    BisectRecordSchema,
    BISECT_SCHEMA,
    { repo: "/src/linux", profile: "mainline", good: "a", bad: "b", row: "check:fadvise", cap: 4, steps: [], log: "" },
  ],
  [
    "known-answer.json",
    KnownAnswerRecordSchema,
    KNOWN_ANSWER_SCHEMA,
    { series: "mainline", workload: "synthetic", signals: [], targets: [], costs: [], problems: [], notes: [] },
  ],
  [
    "per-patch.json",
    PerPatchRecordSchema,
    PER_PATCH_SCHEMA,
    { series: "v8", title: "t", workload: "synthetic", paths: ["read"], checks: [], rows: [], wallSeconds: 1 },
  ],
];

describe("sweep records", () => {
  for (const [file, schema, version, own] of RECORDS) {
    it(`${file} starts with the shared header, reads back what was written, and refuses another version or status`, () => {
      expect(Object.keys(schema.shape).slice(0, 5)).toEqual(Object.keys(RecordHeaderSchema.shape));
      const record = { schema: version, ...header, ...own };
      expect(schema.parse(JSON.parse(JSON.stringify(record)))).toEqual(record);
      expect(schema.safeParse({ ...record, schema: version + 1 }).success).toBe(false);
      expect(schema.safeParse({ ...record, status: "paused" }).success).toBe(false);
      // a record whose run is still going has no end yet
      const { finishedAt: _, ...running } = { ...record, status: "running" };
      expect(schema.safeParse(running).success).toBe(true);
    });
  }
});
