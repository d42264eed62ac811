import { MIN_BOOTS_PER_SIDE } from "../analysis/significance.js";

/** The significance rule (analysis/significance.ts) as the reports state it beside their columns. */

/** What the significance column means, in one sentence under the table's heading. */
export const SIGNIFICANCE_RULE =
  `Significance: "significant" when every boot of one run lies beyond every boot of the other, with at least ${MIN_BOOTS_PER_SIDE} boots a side ` +
  `(a page cache figure taken as ±64 KiB, what a reading resolves; a reduction or efficiency as the range its off and on boots allow); ` +
  `for one cell, chance alone does that at most 1 time in 10 with 3 boots a side, 1 in 126 with 5. Fewer boots: "not enough boots".`;

/** What the runtime tables' significance columns mean. */
export const RUNTIME_SIGNIFICANCE_NOTE =
  `"vs off significance": "significant" when every boot of the mode lies beyond every boot with sharing off (at least ${MIN_BOOTS_PER_SIDE} boots each; ` +
  `by chance alone at most 1 time in 10 with 3 boots each), "not enough boots" with fewer. Throughput measured under QEMU TCG is "emulation noise" whatever its boots say; ` +
  `under KVM with runtime boots beside other guests it is "neighbour noise".`;
