/** A regular file of an image's manifest: what the sharing analyses read of it. */
export const fileEntry = (path: string, size: number, sha256: string) => ({
  path,
  type: "file" as const,
  size,
  mode: 0o644,
  sha256,
});
