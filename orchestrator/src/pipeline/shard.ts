import type { Shard } from "../record/jobSpec.js";
import { BenchError } from "../util/errors.js";

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const shard = m ? { index: Number(m[1]), count: Number(m[2]) } : null;
  if (!shard || shard.count < 1 || shard.index < 1 || shard.index > shard.count) {
    throw new BenchError(
      `--shard ${text} is not K/N with 1 <= K <= N`,
      "e.g. --shard 2/4 measures the second of four parts",
    );
  }
  return shard;
}

/**
 * A group of boots that goes to one shard whole: every mode of one
 * (workload, path, repetition), so each shard measures off, on and split
 * side by side in time and drift between machines cannot bias one mode.
 */
export interface BootGroup {
  key: string;
  /** Expected guest time, in any unit; only ratios matter. */
  cost: number;
}

/**
 * Which groups a shard measures: the longest first, each to the shard with
 * the least work so far (ties to the lowest shard), so shards finish close
 * together; deterministic, so every runner computes the same split from the
 * same plan. Every group lands in exactly one shard.
 */
export function assignShards(groups: BootGroup[], count: number): Map<string, number> {
  const load = Array.from({ length: count }, () => 0);
  const out = new Map<string, number>();
  const ordered = [...groups].sort((a, b) => b.cost - a.cost || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const g of ordered) {
    let best = 0;
    for (let i = 1; i < count; i++) if (load[i]! < load[best]!) best = i;
    load[best]! += g.cost;
    out.set(g.key, best + 1);
  }
  return out;
}

/** Keeps the items of this shard's groups; without a shard, all of them. */
export function inShard<T>(items: T[], groupOf: (item: T) => BootGroup, shard: Shard | undefined): T[] {
  if (!shard || shard.count === 1) return items;
  const groups = new Map(items.map((i) => [groupOf(i).key, groupOf(i)]));
  const assigned = assignShards([...groups.values()], shard.count);
  return items.filter((i) => assigned.get(groupOf(i).key) === shard.index);
}
