import type { Accelerator } from "../guest/qemu.js";
import type { AccessPath, Mode, Phase } from "../guest/modes.js";
import type { Digest } from "../guest/verify.js";

/** What a run is asked to do: the CLI's options, typed. */
export interface BenchOptions {
  series: string;
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
  kernelDeb?: { package?: string; version?: string };
  /** A Linux git clone or release tarball for series based on a git ref. */
  kernelSrc?: string;
  baseRef?: string;
  kernelSrcExclude?: string[];
  noFixups?: boolean;
  mbox?: string;
  buildOnly: boolean;
  /** The correctness checks to run (all of them when absent). */
  checks?: string[];
  /** What each file a guest reads is checked with (default xxh64). */
  digest?: Digest;
  jobs?: number;
  command: string[];
}
