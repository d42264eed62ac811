import { z } from "zod";

/**
 * A figure that may be missing: NaN in memory, null in JSON (which has no
 * NaN). Reading turns null back into NaN, so code sees one type.
 */
export const figure = z.union([z.number(), z.nan(), z.null().transform(() => Number.NaN)]);
