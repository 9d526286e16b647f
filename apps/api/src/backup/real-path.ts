import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Where a path really is: its nearest existing ancestor with every symbolic link followed, the rest as written. Two
 * paths are compared so, not as written (probe 63 F7: a link to the data dir passed "outside the data dir" checks).
 */
export function realPathOf(path: string): string {
  let head = resolve(path);
  const rest: string[] = [];
  while (!existsSync(head) && dirname(head) !== head) {
    rest.unshift(basename(head));
    head = dirname(head);
  }
  return join(existsSync(head) ? realpathSync(head) : head, ...rest);
}

/** whether `path` is `dir` or inside it, both as they really are */
export const isWithin = (path: string, dir: string): boolean => {
  const [p, d] = [realPathOf(path), realPathOf(dir)];
  return p === d || p.startsWith(`${d}/`);
};
