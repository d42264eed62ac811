import path from "node:path";
import { fileURLToPath } from "node:url";
import { CommanderError } from "commander";
import { program } from "./commands/program.js";
import { describeError } from "./util/errors.js";
import { EXIT } from "./util/exitStatus.js";

/**
 * The command line: a verb (run when none is named) with its own options;
 * each verb is in commands/. Every error ends as one message and status 1,
 * never a stack trace; commander's own usage errors have said theirs.
 */
export async function main(argv: string[]): Promise<number> {
  try {
    const { program: cli, verbs } = program(argv.slice(2));
    cli.exitOverride();
    for (const v of verbs) v.exitOverride();
    await cli.parseAsync(argv);
    return verbs.find((v) => v.status !== undefined)?.status ?? EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.error;
    process.stderr.write(describeError(e) + "\n");
    return EXIT.error;
  }
}

// run as a program (npm run bench); imported, by a test, it only defines main
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv).then((code) => process.exit(code));
}
