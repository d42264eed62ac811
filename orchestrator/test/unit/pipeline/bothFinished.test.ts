import { describe, expect, it } from "vitest";
import { bothFinished } from "../../../src/pipeline/buildArtefacts.js";
import { Progress } from "../../../src/util/progress.js";

class Said extends Progress {
  lines: string[] = [];
  constructor() {
    super(true);
  }
  override info(msg: string): void {
    this.lines.push(msg);
  }
}

const later = <T>(ms: number, f: () => T) =>
  new Promise<T>((resolve, reject) =>
    setTimeout(() => {
      try {
        resolve(f());
      } catch (e) {
        reject(e);
      }
    }, ms),
  );

describe("the kernel and the images made side by side", () => {
  it("gives both results", async () => {
    await expect(
      bothFinished(
        new Said(),
        ["the kernel", "is built", later(5, () => 1)],
        ["the images", "are made", later(1, () => "x")],
      ),
    ).resolves.toEqual([1, "x"]);
  });

  it("says a failure at once, lets the other side finish, then throws the failure", async () => {
    const said = new Said();
    let imagesDone = false;
    const kernel = later(1, () => {
      throw new Error("drivers/foo.c:3: error: bar\nmore");
    });
    const images = later(60, () => {
      imagesDone = true;
      return [];
    });
    const both = bothFinished(said, ["the kernel", "is built", kernel], ["the images", "are made", images]);
    await later(20, () => undefined);
    expect(said.lines).toEqual([
      "the kernel: failed (drivers/foo.c:3: error: bar); stopping once the images are made, so the next run finds them cached",
    ]);
    expect(imagesDone).toBe(false);
    await expect(both).rejects.toThrow("drivers/foo.c:3: error: bar");
    expect(imagesDone).toBe(true);
  });
});
