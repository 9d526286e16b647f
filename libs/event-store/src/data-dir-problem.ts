/**
 * A data dir whose files do not belong together (one restored alone from a backup, a file lost or mixed from two
 * copies): the operator's to fix, not a crash. A process refuses to start on it (the API and the projector exit 78,
 * naming the file), where going on would lose or corrupt data for good (probe 33 F5, F6).
 */
export class DataDirProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirProblem';
  }
}
