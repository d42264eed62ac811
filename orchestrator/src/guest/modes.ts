/**
 * The phases: every file read (read-all), the images run as containers
 * (runtime), and the correctness checks of sharing (correctness).
 */
export const PHASES = ["readall", "runtime", "correctness"] as const;

/** The sharing configurations a boot can measure, and how each mounts the two images. */
export const MODES = ["off", "on", "split"] as const;
export type Mode = (typeof MODES)[number];
export const ACCESS_PATHS = ["read", "mmap", "sendfile"] as const;
export type AccessPath = (typeof ACCESS_PATHS)[number];

/** Mount options per image in each mode: split puts the images in different domains. */
export function mountOptions(mode: Mode, shareOptions: (domain: string) => string): { a: string; b: string } {
  switch (mode) {
    case "off":
      return { a: "none", b: "none" };
    case "on":
      return { a: shareOptions("esb"), b: shareOptions("esb") };
    case "split":
      return { a: shareOptions("esb-a"), b: shareOptions("esb-b") };
  }
}
