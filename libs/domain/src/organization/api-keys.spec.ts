import { ADMIN, ORG, Scenario, expectError, expectEvents } from '../testing/fixture';
import { SYSTEM_ACTOR } from '../shared/events';
import { decideOrganization } from './decider';

describe('API keys: an org admin issues and revokes them, never the last one (probe 37 F9)', () => {
  const issue = (s: Scenario, actorId: string, keyId: string) =>
    decideOrganization({ type: 'IssueApiKey', organizationId: ORG, actorId, now: s.now, apiKey: { keyId, secretHash: 'a'.repeat(64) } }, s.org);
  const revoke = (s: Scenario, actorId: string, keyId: string) => decideOrganization({ type: 'RevokeApiKey', organizationId: ORG, actorId, now: s.now, keyId }, s.org);

  it('a key is rotated: another issued, the first revoked; it then authenticates nothing (it leaves the state)', () => {
    const s = new Scenario();
    const [issued] = expectEvents(issue(s, ADMIN, 'key-2'), ['ApiKeyIssued']);
    expect(issued!.data).toEqual({ organizationId: ORG, keyId: 'key-2', secretHash: 'a'.repeat(64), issuedAt: s.now });
    s.applyOrg([issued!]);
    expect([...s.org.apiKeys.keys()]).toEqual(['key-1', 'key-2']);
    const [revoked] = expectEvents(revoke(s, ADMIN, 'key-1'), ['ApiKeyRevoked']);
    expect(revoked!.data).toEqual({ organizationId: ORG, keyId: 'key-1', revokedAt: s.now });
    s.applyOrg([revoked!]);
    expect([...s.org.apiKeys.keys()]).toEqual(['key-2']);
    // issued again under the same id (a retry): nothing more
    expectEvents(issue(s, ADMIN, 'key-2'), []);
  });

  it('a label says what a key is for: kept trimmed with its issue time; an empty, overlong or control-character label is refused', () => {
    const s = new Scenario();
    const labelled = (label: string) =>
      decideOrganization({ type: 'IssueApiKey', organizationId: ORG, actorId: ADMIN, now: s.now, apiKey: { keyId: 'key-2', secretHash: 'b'.repeat(64) }, label }, s.org);
    const [issued] = expectEvents(labelled('  Zendesk sync '), ['ApiKeyIssued']);
    expect(issued!.data).toEqual({ organizationId: ORG, keyId: 'key-2', secretHash: 'b'.repeat(64), issuedAt: s.now, label: 'Zendesk sync' });
    s.applyOrg([issued!]);
    expect(s.org.apiKeys.get('key-2')).toEqual({ secretHash: 'b'.repeat(64), issuedAt: s.now, label: 'Zendesk sync' });
    // the organization's first key has no label
    expect(s.org.apiKeys.get('key-1')).toMatchObject({ label: null });
    for (const bad of ['   ', 'x'.repeat(101), 'a\u0007b']) expectError(labelled(bad), 'VALIDATION_FAILED');
    expectEvents(labelled('x'.repeat(100)), []);
  });

  it('only an org admin; an unknown or revoked key is API_KEY_NOT_FOUND; the last key is LAST_API_KEY', () => {
    const s = new Scenario().member('jane', { roles: ['owner'] });
    expectError(issue(s, 'jane', 'key-2'), 'INSUFFICIENT_AUTHORITY');
    expectError(revoke(s, 'jane', 'key-1'), 'INSUFFICIENT_AUTHORITY');
    expectError(revoke(s, ADMIN, 'key-1'), 'LAST_API_KEY');
    // the operator (system key): an organization whose only key leaked or was lost gets another, then loses the leaked one
    expectEvents(issue(s, SYSTEM_ACTOR, 'key-9'), ['ApiKeyIssued']);
    expectError(revoke(s, ADMIN, 'no-such-key'), 'API_KEY_NOT_FOUND');
    expectError(decideOrganization({ type: 'RevokeApiKey', organizationId: 'other', actorId: ADMIN, now: s.now, keyId: 'key-1' }, { ...s.org, exists: false }), 'ORGANIZATION_NOT_FOUND');
  });
});
