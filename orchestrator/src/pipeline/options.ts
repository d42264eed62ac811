import type { Accelerator, TcgThread } from "../guest/machine.js";
import type { AccessPath, Mode, Phase } from "../guest/modes.js";
import type { Digest } from "../guest/verify.js";
import type { Shard } from "../record/runRecord.js";

/** What a run is asked to do: the CLI's options, typed. */
export interface BenchOptions {
  series: string;
  /** Bench --kernel-src at --base-ref as it is, with this series' feature symbol, image profile and mount options. */
  profile?: string;
  workloads: string[];
  images?: [string, string];
  reps: number;
  modes: Mode[];
  paths: AccessPath[];
  phases?: Phase[];
  quick?: boolean;
  /** The run folder itself; else <outRoot or results>/<run-id>. */
  out?: string;
  outRoot?: string;
  accel?: Accelerator;
  /** How TCG runs the guest's vCPUs (qemuArgs says why single is the default). */
  tcgThread?: TcgThread;
  kernelDeb?: { package?: string; version?: string };
  /** A Linux git clone or release tarball for series based on a git ref. */
  kernelSrc?: string;
  baseRef?: string;
  kernelSrcExclude?: string[];
  noFixups?: boolean;
  mbox?: string;
  buildOnly: boolean;
  /** Build the kernel, tools, images and initramfs, write them here for other machines, and measure nothing. */
  export?: string;
  /** Measure what --export wrote, checked by digest, instead of building anything. */
  artifacts?: string;
  /** Measure only this part of the job's boots (the rest run elsewhere and are merged). */
  shard?: Shard;
  /** Guests at once for read-all boots; default: what the host's cores and memory allow. */
  parallel?: number;
  /** Let runtime boots share the host with other guests (their throughput figures are then disturbed). */
  runtimeShared?: boolean;
  /** Measure the series with its first K patches only (its fixups where they fit), built on the whole series' build. */
  prefix?: number;
  /** Measure this commit of the tree's history, built on the build of --base-ref (a bisection step). */
  commit?: string;
  /** A kernel mutant (kernel/mutants/) built on the series' kernel and measured instead of it. */
  mutant?: string;
  /** The correctness checks to run (all of them when absent). */
  checks?: string[];
  /** Boots per correctness check (1 unless hunting a race). */
  checkReps?: number;
  /** Boots a check gets after one failed or oopsed, so its verdict carries a rate (default 3). */
  checkReruns?: number;
  /** What each file a guest reads is checked with (default xxh64). */
  digest?: Digest;
  jobs?: number;
  command: string[];
}
