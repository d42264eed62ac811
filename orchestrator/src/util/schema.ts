import { z } from "zod";

/**
 * A figure that may be missing: NaN in memory, null in JSON (which has no
 * NaN). Reading turns null back into NaN, so code sees one type.
 */
export const figure = z.union([z.number(), z.nan(), z.null().transform(() => Number.NaN)]);

/**
 * An object schema for a file people write by hand (series specs,
 * workloads): a key it does not know is an error that names the keys it
 * does, so a typo ("fixup:") is never silently dropped.
 */
export function strictObject<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown key ${issue.keys.map((k) => `"${k}"`).join(", ")} (known keys: ${known})`
        : undefined,
  });
}
