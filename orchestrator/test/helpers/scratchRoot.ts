import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Every scratch folder the tests make (mkdtemp under os.tmpdir()) goes
 * into one folder for the whole run, removed at its end, so a run leaves
 * nothing in /tmp however each test cleans up. Set ESB_KEEP_SCRATCH=1 to
 * keep it for a look.
 */
export default function setup(): () => void {
  const root = mkdtempSync(path.join(os.tmpdir(), "share-bench-tests-"));
  // tests that run a guest agent as an unprivileged user (so file permissions apply to it) must reach their folders
  chmodSync(root, 0o755);
  process.env.TMPDIR = root;
  return () => {
    if (process.env.ESB_KEEP_SCRATCH) console.log(`test scratch kept in ${root}`);
    else rmSync(root, { recursive: true, force: true });
  };
}
