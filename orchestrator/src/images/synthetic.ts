import { createCipheriv, createHash } from "node:crypto";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * The built-in pair: two trees of deterministic pseudo-random files where a
 * known set is byte-identical in both (the "base layers" of an update) and the
 * rest differs at the same paths (the "updated packages").
 */
export interface SyntheticSpec {
  seed: string;
  /** Files identical in A and B. */
  shared: number[];
  /** Files that exist at the same path in A and B with different content. */
  changed: number[];
}

export const DEFAULT_SYNTHETIC: SyntheticSpec = {
  seed: "esb-synthetic-1",
  // 16 MiB identical, mixed sizes including non-page-aligned tails and tiny files
  shared: [
    4 << 20,
    2 << 20,
    2 << 20,
    1 << 20,
    1 << 20,
    1 << 20,
    (1 << 20) + 123,
    777_777,
    500_000,
    300_001,
    ...Array.from({ length: 24 }, (_, i) => 65536 + i * 4099),
    ...Array.from({ length: 8 }, (_, i) => 100 + i * 300),
  ],
  // 8 MiB per image that differs
  changed: [
    2 << 20,
    2 << 20,
    1 << 20,
    1 << 20,
    1 << 20,
    524_288,
    262_144 + 17,
    ...Array.from({ length: 8 }, (_, i) => 16_384 + i * 5000),
  ],
};

/** Deterministic bytes: AES-128-CTR keystream keyed by (seed, name). */
function deterministicBytes(seed: string, name: string, size: number): Buffer {
  const key = createHash("sha256").update(`${seed}\0${name}`).digest();
  const cipher = createCipheriv("aes-128-ctr", key.subarray(0, 16), key.subarray(16, 32));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

export async function writeSyntheticTree(spec: SyntheticSpec, variant: "a" | "b", root: string): Promise<void> {
  const dirs = ["usr/lib/base", "usr/share/base", "opt/app"];
  for (const d of [...dirs, "etc"]) await mkdir(path.join(root, d), { recursive: true });
  for (const [i, size] of spec.shared.entries()) {
    const dir = dirs[i % 2]!;
    await writeFile(
      path.join(root, dir, `shared-${String(i).padStart(3, "0")}.bin`),
      deterministicBytes(spec.seed, `shared-${i}`, size),
    );
  }
  for (const [i, size] of spec.changed.entries()) {
    const name = `app-${String(i).padStart(3, "0")}.bin`;
    await writeFile(path.join(root, "opt/app", name), deterministicBytes(spec.seed, `changed-${variant}-${i}`, size));
  }
  await writeFile(path.join(root, "etc/version"), `synthetic ${variant.toUpperCase()}\n`);
  await writeFile(path.join(root, "etc/empty"), "");
  await symlink("../usr/lib/base/shared-000.bin", path.join(root, "opt/link-to-shared"));
}
