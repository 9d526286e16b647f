import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';

/**
 * Writes a small file of the data dir that must never be lost or seen half-written (its secrets, the notary's keys):
 * whole under a temporary name, flushed to the disk (fsync), then put in place, and the directory flushed too, so that
 * the name points at the content after a power cut or a host crash. `replace`: false links the file into place only if
 * no other process created it first (then false: read theirs); true renames over what is there.
 *
 * Probe 51 F2 (session 47): written without fsync, secrets.json and the notary's key files were empty after the file
 * system aborted ~17 s after a first start (the SQLite files, synced, were whole), and a start then generated a new
 * invitation secret. Node's fs calls, not a package: write-file-atomic renames but cannot link-if-absent, which two
 * replicas starting on one data dir need.
 */
export function writeFileDurably(file: string, content: string, options: { mode?: number; replace: boolean }): boolean {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}`;
  const fd = openSync(temp, 'wx', options.mode ?? 0o600);
  try {
    const bytes = Buffer.from(content, 'utf8');
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    fsyncSync(fd);
  } catch (error) {
    // a full disk: no temporary file left behind at each try (probe 54 F5)
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    if (options.replace) renameSync(temp, file);
    else linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
  syncDirectory(dirname(file));
  return true;
}

/** Flushes a directory's entries (a file created, linked or renamed in it) to the disk. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
