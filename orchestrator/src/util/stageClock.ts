/** Times stages for the run record; stages that build several artefacts take it to time each one. */
export type TimeStage = <T extends { reused?: boolean }>(stage: string, fn: () => Promise<T>) => Promise<T>;
