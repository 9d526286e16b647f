import type { OrganizationState } from '@rollcall/domain';
import { Authenticator } from './auth';
import { sha256 } from './secrets';
import type { StreamStates } from './command-path/stream-states';

const ORG = '0b7e4f9a-3c52-4d1e-8f6a-5a2c9d0e7b13';
const KEY_ID = '1c8f5a0b-4d63-4e2f-9a7b-6b3d0e1f8c24';
const SECRET = 'A'.repeat(43);
const ORG_KEY = `rk_${ORG}_${KEY_ID}_${SECRET}`;
const SYSTEM_KEY = 'rk_system_auth-spec-0123456789';

/** an organization stream holding one key, read through `organizationCached` and `organization` (counted) */
function states(apiKeys: OrganizationState['apiKeys']) {
  const reads = { count: 0 };
  const repo = {
    organizationCached: async () => ((reads.count++, { apiKeys })),
    organization: async () => ((reads.count++, { state: { apiKeys } })),
  } as unknown as StreamStates;
  return { repo, reads };
}

describe('API keys (Authenticator)', () => {
  it('an organization key that matched is known afterwards: identified again without the organization state', async () => {
    const { repo, reads } = states(new Map([[KEY_ID, { secretHash: sha256(SECRET), issuedAt: '2026-12-04T00:00:00.000Z', label: null, issuedBy: null }]]));
    const auth = new Authenticator(repo, { systemKeyHash: sha256(SYSTEM_KEY) });
    const principal = { kind: 'organization', organizationId: ORG, keyId: KEY_ID };
    expect(await auth.identify(ORG_KEY)).toEqual(principal);
    const readsAfterFirst = reads.count;
    expect(await auth.identify(ORG_KEY)).toEqual(principal);
    expect(reads.count).toBe(readsAfterFirst);
    expect(await auth.identify(SYSTEM_KEY)).toEqual({ kind: 'system' });
    expect(await auth.identify(SYSTEM_KEY)).toEqual({ kind: 'system' });
  });

  it('a known key is checked against the organization again once another process committed (othersEpoch moved): refused once revoked there (probe 40b F1)', async () => {
    const apiKeys: OrganizationState['apiKeys'] = new Map([[KEY_ID, { secretHash: sha256(SECRET), issuedAt: '2026-12-04T00:00:00.000Z', label: null, issuedBy: null }]]);
    const { repo, reads } = states(apiKeys);
    let epoch = 0;
    const auth = new Authenticator(repo, { systemKeyHash: sha256(SYSTEM_KEY) }, { othersEpoch: () => epoch });
    expect(await auth.identify(ORG_KEY)).toMatchObject({ kind: 'organization' });
    const readsAfterFirst = reads.count;
    expect(await auth.identify(ORG_KEY)).toMatchObject({ kind: 'organization' });
    expect(reads.count).toBe(readsAfterFirst); // nobody else wrote: from memory
    epoch = 1; // another replica wrote (not this key's revocation): checked once, still on file
    expect(await auth.identify(ORG_KEY)).toMatchObject({ kind: 'organization' });
    expect(await auth.identify(ORG_KEY)).toMatchObject({ kind: 'organization' });
    expect(reads.count).toBe(readsAfterFirst + 1);
    apiKeys.delete(KEY_ID);
    epoch = 2; // another replica revoked it
    await expect(auth.identify(ORG_KEY)).rejects.toMatchObject({ problem: { status: 401, code: 'UNAUTHENTICATED' } });
    await expect(auth.identify(ORG_KEY)).rejects.toMatchObject({ problem: { status: 401 } });
  });

  it('a key that did not match is not remembered: refused each time, and accepted once the organization holds it', async () => {
    const apiKeys: OrganizationState['apiKeys'] = new Map();
    const { repo } = states(apiKeys);
    const auth = new Authenticator(repo, { systemKeyHash: sha256(SYSTEM_KEY) });
    await expect(auth.identify(ORG_KEY)).rejects.toMatchObject({ problem: { status: 401, code: 'UNAUTHENTICATED' } });
    await expect(auth.identify(`${ORG_KEY.slice(0, -1)}B`)).rejects.toMatchObject({ problem: { status: 401 } });
    apiKeys.set(KEY_ID, { secretHash: sha256(SECRET), issuedAt: '2026-12-04T00:00:00.000Z', label: null, issuedBy: null });
    expect(await auth.identify(ORG_KEY)).toMatchObject({ kind: 'organization', organizationId: ORG });
    await expect(auth.identify(`${ORG_KEY.slice(0, -1)}B`)).rejects.toMatchObject({ problem: { status: 401 } });
  });
});
