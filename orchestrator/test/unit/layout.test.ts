import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The source tree is the pipeline: each folder a step, and a step only uses
 * the steps below it. This keeps a newcomer's reading of the code one-way.
 */
const LAYERS = [
  "util",
  "host",
  "kernel",
  "images",
  "guest",
  "analysis",
  "record",
  "report",
  "pipeline",
  "tasks",
  "commands",
  "cli.ts",
];

const SRC = path.resolve(import.meta.dirname, "..", "..", "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

function layerOf(file: string): number {
  const top = path.relative(SRC, file).split(path.sep)[0]!;
  const i = LAYERS.indexOf(top);
  if (i < 0) throw new Error(`${path.relative(SRC, file)} is in no known layer (${LAYERS.join(", ")})`);
  return i;
}

/** Relative imports of a file, resolved to the .ts files they name. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.\.?\/[^"]+)"/g)].map((m) =>
    path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, ".ts")),
  );
}

/** Every cycle of a graph of folders, each as "a -> b -> a". */
function folderCycles(edges: Map<string, Set<string>>): string[] {
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const visit = (n: string, trail: string[]) => {
    if (state.get(n) === "done") return;
    if (state.get(n) === "open") {
      cycles.push([...trail.slice(trail.indexOf(n)), n].join(" -> "));
      return;
    }
    state.set(n, "open");
    for (const t of edges.get(n) ?? []) visit(t, [...trail, n]);
    state.set(n, "done");
  };
  for (const n of edges.keys()) visit(n, []);
  return cycles;
}

describe("a cycle between folders", () => {
  it("is found, however many folders it goes through", () => {
    expect(
      folderCycles(
        new Map([
          ["report", new Set(["report/html"])],
          ["report/html", new Set(["report"])],
        ]),
      ),
    ).toEqual(["report -> report/html -> report"]);
    expect(
      folderCycles(
        new Map([
          ["a", new Set(["b"])],
          ["b", new Set(["c"])],
          ["c", new Set()],
        ]),
      ),
    ).toEqual([]);
  });
});

describe("source layout", () => {
  const files = sourceFiles(SRC);

  it("has every file in a known layer and every import resolving to a file", () => {
    for (const f of files) {
      layerOf(f);
      for (const target of importsOf(f))
        expect(files, `${path.relative(SRC, f)} imports a missing ${path.relative(SRC, target)}`).toContain(target);
    }
  });

  it("imports only from its own layer or the layers below it", () => {
    const upward: string[] = [];
    for (const f of files) {
      for (const target of importsOf(f)) {
        if (layerOf(target) > layerOf(f)) upward.push(`${path.relative(SRC, f)} -> ${path.relative(SRC, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("has no cycle between folders, sub-folders included (report and report/html, kernel and kernel/patches)", () => {
    const folderOf = (f: string) => path.dirname(path.relative(SRC, f));
    const edges = new Map<string, Set<string>>();
    for (const f of files) {
      for (const t of importsOf(f)) {
        if (folderOf(t) === folderOf(f)) continue;
        edges.set(folderOf(f), (edges.get(folderOf(f)) ?? new Set()).add(folderOf(t)));
      }
    }
    expect(folderCycles(edges)).toEqual([]);
  });

  it("gives no two files one name, but for a verb of commands/ and the code it runs (README, the folder table)", () => {
    const byName = new Map<string, string[]>();
    for (const f of files)
      byName.set(path.basename(f), [...(byName.get(path.basename(f)) ?? []), path.relative(SRC, f)]);
    const shared = [...byName.values()].filter(
      (fs) => fs.length > 1 && !(fs.length === 2 && fs.some((f) => f.startsWith(`commands${path.sep}`))),
    );
    expect(shared).toEqual([]);
  });

  it("has no import cycles", () => {
    const graph = new Map(files.map((f) => [f, importsOf(f)]));
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (f: string, trail: string[]) => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "open") {
        cycles.push([...trail.slice(trail.indexOf(f)), f].map((x) => path.relative(SRC, x)).join(" -> "));
        return;
      }
      state.set(f, "open");
      for (const t of graph.get(f) ?? []) visit(t, [...trail, f]);
      state.set(f, "done");
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
