import { describe, expect, it } from "vitest";
import { fisherGreater, fisherLess, formatP } from "../../../src/analysis/fisher.js";

/** Fisher's exact test against values published for it. */
describe("Fisher's exact test", () => {
  it("gives the lady tasting tea's one-sided p of 17/70 (Fisher, 1935: 3 of 4 cups right against 1 of 4)", () => {
    expect(fisherGreater(1, 4, 3, 4)).toBeCloseTo(17 / 70, 12);
    expect(fisherLess(3, 4, 1, 4)).toBeCloseTo(17 / 70, 12);
  });

  it("gives the dieting example's one-sided p (Wikipedia, Fisher's exact test: 1 of 12 men against 9 of 12 women; 0.001346 + 0.000034)", () => {
    expect(fisherGreater(1, 12, 9, 12)).toBeCloseTo(0.0013797, 6);
  });

  it("says a race seen in 18 of 20 boots against none of 20 is far beyond chance, and equal rates are not", () => {
    expect(fisherGreater(0, 20, 18, 20)).toBeLessThan(1e-8);
    expect(fisherGreater(5, 10, 5, 10)).toBeGreaterThan(0.5);
    expect(fisherLess(5, 10, 5, 10)).toBeGreaterThan(0.5);
    expect(formatP(fisherGreater(0, 20, 18, 20))).toBe("p < 0.001");
    expect(formatP(0.0349)).toBe("p = 0.035");
  });
});
