/**
 * An index of addresses by emailKey (the organization's users by address, a workspace's pending invitations by
 * address), one holder each: `byKey`. Two live holders of one key come only from before session 27, when
 * lower-casing kept apart what case folding joins (probe 27: two users, or two pending invitations, whose addresses
 * fold alike): the index then remembers the key's holders in `shared`, so that removing one leaves the other found
 * (review, session 27: the other user's address was no longer "already a member", and a third user was made of it).
 * `shared` is empty for every key a single holder has: nothing kept, nothing allocated, for nearly every address (these
 * run in every fold of a 100,000-member workspace and in its cold load).
 */
/** `holder` holds `key` (the latest holder is the one found); `live(state, holder)`: whether one found there still holds it */
export function indexAddress<S>(byKey: Map<string, string>, shared: Map<string, string[]>, key: string, holder: string, live: (state: S, holder: string) => boolean, state: S): void {
  const current = byKey.get(key);
  if (current !== undefined && current !== holder && live(state, current)) {
    const holders = shared.get(key) ?? [current];
    if (!holders.includes(holder)) holders.push(holder);
    shared.set(key, holders);
  }
  byKey.set(key, holder);
}

/** `holder` no longer holds `key`: the key is found at the other holder left, if any */
export function unindexAddress(byKey: Map<string, string>, shared: Map<string, string[]>, key: string, holder: string): void {
  const holders = shared.size > 0 ? shared.get(key) : undefined;
  if (!holders) {
    if (byKey.get(key) === holder) byKey.delete(key);
    return;
  }
  const rest = holders.filter((h) => h !== holder);
  if (rest.length > 1) shared.set(key, rest);
  else shared.delete(key);
  if (byKey.get(key) !== holder) return;
  if (rest.length > 0) byKey.set(key, rest.at(-1)!);
  else byKey.delete(key);
}
