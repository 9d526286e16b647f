/**
 * An index of addresses by emailKey (the organization's users by address, a workspace's pending invitations by
 * address), one holder each. Two live holders of one key come only from before session 27, when lower-casing kept
 * apart what case folding joins (probe 27: two users, or two pending invitations, whose addresses fold alike): the
 * index then remembers the key's holders in `shared`, so that removing one leaves the other found (review, session
 * 27: the other user's address was no longer "already a member", and a third user was made of it). `shared` is empty
 * for every key a single holder has: nothing to keep for nearly every address.
 */
export interface AddressIndex {
  byKey: Map<string, string>;
  shared: Map<string, string[]>;
}

/** `holder` holds `key` (the latest holder is the one found); `live`: whether a holder found there still holds it */
export function indexAddress(index: AddressIndex, key: string, holder: string, live: (holder: string) => boolean): void {
  const current = index.byKey.get(key);
  if (current !== undefined && current !== holder && live(current)) {
    const holders = index.shared.get(key) ?? [current];
    if (!holders.includes(holder)) holders.push(holder);
    index.shared.set(key, holders);
  }
  index.byKey.set(key, holder);
}

/** `holder` no longer holds `key`: the key is found at the other holder left, if any */
export function unindexAddress(index: AddressIndex, key: string, holder: string): void {
  const holders = index.shared.get(key);
  if (!holders) {
    if (index.byKey.get(key) === holder) index.byKey.delete(key);
    return;
  }
  const rest = holders.filter((h) => h !== holder);
  if (rest.length > 1) index.shared.set(key, rest);
  else index.shared.delete(key);
  if (index.byKey.get(key) !== holder) return;
  if (rest.length > 0) index.byKey.set(key, rest.at(-1)!);
  else index.byKey.delete(key);
}
