/** Exit statuses of the CLI; --help lists them. */
export const EXIT = {
  ok: 0,
  /** A tool error: the message names the input and what to do. */
  error: 1,
  /** compare, nightly or judge found a regression. */
  regression: 3,
  /** The run completed, but some boots or correctness checks failed (a guest oops, hang or error): the reports say which. */
  failedBoots: 4,
  /** The known-answer run (validate) found a mutant not caught, or mainline failing: a defect of this tool. */
  knownAnswerMissed: 5,
  /** compare, nightly or judge found no regression, but some images moved since the baseline, so their rows were not judged. */
  imagesMoved: 6,
  /** repro: the bundle's test runs did not reproduce the finding. */
  notReproduced: 7,
  interrupted: 130,
} as const;
