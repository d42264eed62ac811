/**
 * The texts of a reproducer bundle: its README (what it shows, how to run
 * it, the decoded trace) and the report mail, plain text as kernel lists
 * take it. Both say only what the run and the bundle's own test measured.
 */

export interface ReproReport {
  record: {
    finding: string;
    scenario: string;
    reason: string;
    run: { dir: string; id: string; series: string; rate: { failed: number; of: number } };
    kernel: { release: string; identity: string[]; bzImageSha256: string; configSha256: string };
    test?: { runs: number; reproduced: number; notReproduced: number; noVerdict: number };
  };
  finding: {
    proves?: string;
    defaultRuns: number;
    boot: { memoryMiB: number; cpus: number; accel: { accel: string } };
    disks: { name: string }[];
    defines: Record<string, string>;
  };
  /** Every distinct kernel report the failing boots printed, symbolised, with how many boots printed it. */
  reports: { text: string; boots: number }[];
  /** function -> file:line in the tree the kernel was built from. */
  definitions: Record<string, string>;
  /** For a series finding: the patches that brought the code the trace runs through. */
  introducedBy: string[];
  /** What the scenario does, from its C file's header. */
  scenarioText: string;
}

const MAIL_WIDTH = 72;

/** Wraps prose at 72 columns (a mail body's width); lines that start with spaces stay as they are. */
export function wrap(text: string, width = MAIL_WIDTH): string {
  return text
    .split("\n")
    .map((line) => {
      if (/^\s/.test(line) || line.length <= width) return line;
      const out: string[] = [];
      let cur = "";
      for (const w of line.split(" ")) {
        if (cur && (cur + " " + w).length > width) {
          out.push(cur);
          cur = w;
        } else cur = cur ? `${cur} ${w}` : w;
      }
      if (cur) out.push(cur);
      return out.join("\n");
    })
    .join("\n");
}

const rateText = (r: { failed: number; of: number }) => `${r.failed} of ${r.of}`;

function testLine(r: ReproReport): string {
  const t = r.record.test;
  if (!t) return "The bundle was not run after it was made.";
  const unclear = t.noVerdict ? `, ${t.noVerdict} without a verdict` : "";
  return `The bundle itself reproduced it in ${t.reproduced} of ${t.runs} run(s)${unclear} (./run.sh -n ${t.runs}, on the kernel it carries).`;
}

function headline(r: ReproReport): string {
  const first = r.reports[0]?.text.split("\n")[0];
  if (r.record.scenario === "umount-race") return "VFS: Busy inodes after unmount (use-after-free) with inode_share";
  if (r.record.scenario === "read-all") return "shared page cache serves other bytes than the image holds";
  if (r.record.scenario === "fadvise") return "POSIX_FADV_DONTNEED does not drop a shared file's page cache";
  return first ?? r.record.finding;
}

function traceSection(r: ReproReport): string[] {
  if (!r.reports.length)
    return ["The failing boots printed no kernel report (no oops, warning or sanitizer report).", ""];
  const guessed = r.reports.some((x) => x.text.includes("<- ? "))
    ? ["Frames marked ? are addresses found on the stack, not calls the kernel's unwinder is sure of.", ""]
    : [];
  return [
    ...r.reports.flatMap((x, i) => [
      `${i ? "Also" : "First"} seen in ${x.boots} of the failing boots (symbolised against vmlinux):`,
      "",
      ...x.text.split("\n").map((l) => `  ${l}`),
      "",
    ]),
    ...guessed,
  ];
}

function functionsSection(r: ReproReport): string[] {
  const fns = Object.entries(r.definitions);
  if (!fns.length)
    return r.introducedBy.length
      ? ["The series' patches that brought that code:", "", ...r.introducedBy.map((l) => `  ${l}`), ""]
      : [];
  return [
    "Functions the trace names, where they are defined in the tree built:",
    "",
    ...fns.map(([f, at]) => `  ${f.padEnd(32)} ${at}`),
    "",
    ...(r.introducedBy.length
      ? ["The series' patches that brought that code:", "", ...r.introducedBy.map((l) => `  ${l}`), ""]
      : []),
  ];
}

const runCommands = (r: ReproReport) => [
  `  ./run.sh                 # ${r.finding.defaultRuns} run(s) of the kernel in the bundle`,
  "  ./run.sh -n 50           # more runs",
  "  ./run.sh -k ~/bzImage    # your kernel (its config must have EROFS and",
  "                           # its page cache sharing on: see ./config)",
  "  ./run.sh -a kvm          # KVM instead of QEMU's TCG",
];

export function renderReproReadme(r: ReproReport): string {
  const rec = r.record;
  return [
    `# Reproducer: ${rec.finding} (${rec.kernel.release})`,
    "",
    wrap(`${headline(r)}.`),
    "",
    "## What the run saw",
    "",
    wrap(`${rec.reason}`),
    "",
    wrap(
      `Rate in the run that found it: ${rateText(rec.run.rate)} boots (run ${rec.run.id}, series ${rec.run.series}). ${testLine(r)}`,
    ),
    ...(r.finding.proves ? ["", wrap(`What a pass would show: ${r.finding.proves}`)] : []),
    "",
    "## What the program does",
    "",
    wrap(r.scenarioText),
    "",
    "Parameters (top of repro.c): " +
      Object.entries(r.finding.defines)
        .map(([k, v]) => `${k}=${v}`)
        .join(", "),
    "",
    "## Run it",
    "",
    "Needs qemu-system-x86_64 and gcc with a static libc (Debian: qemu-system-x86, gcc, libc6-dev); nothing else, no network.",
    "",
    "```",
    ...runCommands(r),
    "```",
    "",
    wrap(
      `run.sh builds repro.c statically, packs it as the initramfs's /init (the program writes the cpio itself), boots the kernel with -m ${r.finding.boot.memoryMiB} -smp ${r.finding.boot.cpus} and the images as virtio disks (${r.finding.disks.map((d, i) => `vd${String.fromCharCode(97 + i)}=${d.name}`).join(", ")}), and judges each boot by its console (logs/run-N.console). It prints one line per run and a summary, and exits 1 when the finding reproduced in any run, 0 when in none, 2 when it could not tell.`,
    ),
    "",
    "## The trace",
    "",
    "```",
    ...traceSection(r),
    ...functionsSection(r),
    "```",
    "",
    "## The kernel",
    "",
    "```",
    `release ${rec.kernel.release}`,
    ...rec.kernel.identity,
    `bzImage sha256 ${rec.kernel.bzImageSha256}`,
    `config  sha256 ${rec.kernel.configSha256}`,
    "```",
    "",
    "Files: bzImage, vmlinux (symbols for the trace), config, images/, repro.c, run.sh, mail.txt (the report), bundle.json (every file's sha256).",
    "",
  ].join("\n");
}

/** The report mail: subject, what happens, the trace, the rate, how to run the bundle; Reported-by left to the sender. */
export function renderReproMail(r: ReproReport): string {
  const rec = r.record;
  const subject = `[BUG] erofs: ${headline(r)} (${rec.kernel.release})`;
  const body = [
    "Hi,",
    "",
    wrap(
      `On ${rec.kernel.release} (${rec.run.series === "mainline" ? "mainline" : `the series ${rec.run.series}`}) with EROFS page cache sharing on, the ${rec.finding.replace(/^check /, "check ")} of erofs-share-bench fails: ${rec.reason.replace(/\s+/g, " ")}`,
    ),
    "",
    "Kernel:",
    ...rec.kernel.identity.map((l) => `  ${l}`),
    `  config sha256 ${rec.kernel.configSha256} (in the bundle)`,
    "",
    "What the reproducer does:",
    "",
    ...wrap(r.scenarioText, MAIL_WIDTH - 2)
      .split("\n")
      .map((l) => `  ${l}`),
    "",
    wrap(
      `Rate: ${rateText(rec.run.rate)} boots under QEMU (${r.finding.boot.accel.accel.toUpperCase()}, ${r.finding.boot.cpus} vCPUs, ${r.finding.boot.memoryMiB} MiB). ${testLine(r)}`,
    ),
    "",
    ...traceSection(r),
    ...functionsSection(r),
    "Reproducer: a folder with repro.c (the whole scenario, booted as /init), run.sh, the bzImage, vmlinux and .config, and the EROFS images. It needs only QEMU and gcc:",
    "",
    ...runCommands(r),
    "",
    wrap(
      "run.sh exits 1 when it reproduced in any run, 0 when in none, 2 when it could not tell; to test a fix, run it against your kernel with -k and as many runs as the rate needs.",
    ),
    "",
    "Reported-by: ",
  ];
  return [`Subject: ${subject}`, "", ...body.map((l) => wrap(l)), ""].join("\n");
}
