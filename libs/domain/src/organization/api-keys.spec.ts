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
    expect(issued!.data).toEqual({ organizationId: ORG, keyId: 'key-2', secretHash: 'a'.repeat(64), issuedAt: s.now, issuedBy: ADMIN });
    s.applyOrg([issued!]);
    expect([...s.org.apiKeys.keys()]).toEqual(['key-1', 'key-2']);
    const [revoked] = expectEvents(revoke(s, ADMIN, 'key-1'), ['ApiKeyRevoked']);
    expect(revoked!.data).toEqual({ organizationId: ORG, keyId: 'key-1', revokedAt: s.now, revokedBy: ADMIN });
    s.applyOrg([revoked!]);
    expect([...s.org.apiKeys.keys()]).toEqual(['key-2']);
    // kept for the list of revoked keys, without its secret's hash (probe 75 F4)
    expect(s.org.revokedApiKeys.get('key-1')).toEqual({ issuedAt: expect.any(String), label: null, issuedBy: SYSTEM_ACTOR, revokedAt: s.now, revokedBy: ADMIN });
    // issued again under the same id (a retry): nothing more
    expectEvents(issue(s, ADMIN, 'key-2'), []);
  });

  it('a label says what a key is for: kept trimmed with its issue time; an empty, overlong or control-character label is refused', () => {
    const s = new Scenario();
    const labelled = (label: string) =>
      decideOrganization({ type: 'IssueApiKey', organizationId: ORG, actorId: ADMIN, now: s.now, apiKey: { keyId: 'key-2', secretHash: 'b'.repeat(64) }, label }, s.org);
    const [issued] = expectEvents(labelled('  Zendesk sync '), ['ApiKeyIssued']);
    expect(issued!.data).toEqual({ organizationId: ORG, keyId: 'key-2', secretHash: 'b'.repeat(64), issuedAt: s.now, label: 'Zendesk sync', issuedBy: ADMIN });
    s.applyOrg([issued!]);
    expect(s.org.apiKeys.get('key-2')).toEqual({ secretHash: 'b'.repeat(64), issuedAt: s.now, label: 'Zendesk sync', issuedBy: ADMIN });
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

  it('a key is labelled again (probe 75 F4): the first key gets one; the same label is no change; refused as issuing is', () => {
    const s = new Scenario().member('jane', { roles: ['owner'] });
    const label = (actorId: string, keyId: string, text: string) => decideOrganization({ type: 'LabelApiKey', organizationId: ORG, actorId, now: s.now, keyId, label: text }, s.org);
    const [changed] = expectEvents(label(ADMIN, 'key-1', ' Zendesk sync '), ['ApiKeyLabelChanged']);
    expect(changed!.data).toEqual({ organizationId: ORG, keyId: 'key-1', label: 'Zendesk sync', previousLabel: null, changedAt: s.now });
    s.applyOrg([changed!]);
    expect(s.org.apiKeys.get('key-1')).toMatchObject({ label: 'Zendesk sync' });
    expectEvents(label(ADMIN, 'key-1', 'Zendesk sync'), []);
    const [again] = expectEvents(label(SYSTEM_ACTOR, 'key-1', 'Zendesk'), ['ApiKeyLabelChanged']);
    expect(again!.data).toMatchObject({ label: 'Zendesk', previousLabel: 'Zendesk sync' });
    expectError(label('jane', 'key-1', 'Mine'), 'INSUFFICIENT_AUTHORITY');
    expectError(label(ADMIN, 'no-such-key', 'x'), 'API_KEY_NOT_FOUND');
    for (const bad of ['   ', 'x'.repeat(101), 'a\u0007b']) expectError(label(ADMIN, 'key-1', bad), 'VALIDATION_FAILED');
  });

  it('API keys: a label is unique among the keys not revoked, ignoring case, width and spacing (probe 83 F6); a revoked key lets go of its label', () => {
    const s = new Scenario();
    const issueLabelled = (keyId: string, label: string) =>
      decideOrganization({ type: 'IssueApiKey', organizationId: ORG, actorId: ADMIN, now: s.now, apiKey: { keyId, secretHash: 'c'.repeat(64) }, label }, s.org);
    const label = (keyId: string, text: string) => decideOrganization({ type: 'LabelApiKey', organizationId: ORG, actorId: ADMIN, now: s.now, keyId, label: text }, s.org);
    s.applyOrg(expectEvents(issueLabelled('key-2', 'Zendesk sync'), ['ApiKeyIssued']));
    for (const alike of ['zendesk SYNC', 'Ｚｅｎｄｅｓｋ  sync', 'Zendesk\u00a0sync'])
      expect(issueLabelled('key-3', alike)).toEqual({ ok: false, error: expect.objectContaining({ code: 'API_KEY_LABEL_TAKEN', facts: { keyId: 'key-2' } }) });
    // the first key cannot be labelled as the second; the second keeps its own label, or changes its case
    expect(label('key-1', 'ZENDESK SYNC')).toMatchObject({ ok: false, error: { code: 'API_KEY_LABEL_TAKEN' } });
    expectEvents(label('key-2', 'Zendesk sync'), []);
    expectEvents(label('key-2', 'ZENDESK sync'), ['ApiKeyLabelChanged']);
    // rotated: once the old key is revoked, its label is free for the new one
    s.applyOrg(expectEvents(issueLabelled('key-3', 'Zendesk sync (new)'), ['ApiKeyIssued']));
    s.applyOrg(expectEvents(decideOrganization({ type: 'RevokeApiKey', organizationId: ORG, actorId: ADMIN, now: s.now, keyId: 'key-2' }, s.org), ['ApiKeyRevoked']));
    expectEvents(label('key-3', 'Zendesk sync'), ['ApiKeyLabelChanged']);
  });
});
