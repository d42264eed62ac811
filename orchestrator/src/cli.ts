import { program } from "./commands/program.js";
import { describeError } from "./util/errors.js";
import { EXIT } from "./util/exitStatus.js";

/** The command line: a verb (run when none is named) with its own options; each verb is in commands/. */
async function main(argv: string[]): Promise<number> {
  const { program: cli, verbs } = program(argv.slice(2));
  await cli.parseAsync(argv);
  return verbs.find((v) => v.status !== undefined)?.status ?? EXIT.ok;
}

main(process.argv).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(describeError(e) + "\n");
    process.exit(EXIT.error);
  },
);
