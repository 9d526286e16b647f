import { decideOrganization } from './decider';
import { initialOrganizationState } from './state';
import { ADMIN, ORG, Scenario, T0, expectError, expectEvents } from '../testing/fixture';
import { SYSTEM_ACTOR } from '../shared/events';

describe('organization decider', () => {
  const create = (over: Record<string, unknown> = {}) =>
    decideOrganization(
      { type: 'CreateOrganization', organizationId: 'o', actorId: SYSTEM_ACTOR, now: T0, name: ' Acme ', admin: { userId: 'a', email: 'A@Acme.test', displayName: 'Ada' }, apiKey: { keyId: 'k', secretHash: 'h' }, ...over },
      initialOrganizationState(),
    );
  it('creates an organization with its first org admin (system key only)', () => {
    const [created, key, admin] = expectEvents(create(), ['OrganizationCreated', 'ApiKeyIssued', 'UserJoinedOrganization']);
    expect(key!.data).toMatchObject({ keyId: 'k', secretHash: 'h' });
    expect(created!.data).toMatchObject({ name: 'Acme' });
    expect(admin!.data).toMatchObject({ email: 'a@acme.test', orgAdmin: true });
    expectError(create({ actorId: 'someone' }), 'INSUFFICIENT_AUTHORITY');
    expectError(create({ name: '' }), 'VALIDATION_FAILED');
    expectError(create({ admin: { userId: 'a', email: 'bad', displayName: 'x' } }), 'VALIDATION_FAILED');
  });
  it('refuses to create an organization twice', () => {
    const s = new Scenario();
    expectError(
      s.whenOrg({ type: 'CreateOrganization', organizationId: ORG, actorId: SYSTEM_ACTOR, now: T0, name: 'x', admin: { userId: 'b', email: 'b@b.io', displayName: 'b' }, apiKey: { keyId: 'k', secretHash: 'h' } }),
      'ORGANIZATION_EXISTS',
    );
  });
  it('creates workspaces: org admins only, with a valid plan and access model, default standard/levels', () => {
    const s = new Scenario().member('agent');
    const base = { type: 'CreateWorkspace' as const, organizationId: ORG, now: T0, name: 'Sales' };
    const [ws] = expectEvents(s.whenOrg({ ...base, actorId: ADMIN, workspaceId: 'ws-2' }), ['WorkspaceCreated']);
    expect(ws!.data).toMatchObject({ plan: 'standard', accessModel: 'levels', ownerUserId: ADMIN });
    expectError(s.whenOrg({ ...base, actorId: 'agent', workspaceId: 'ws-3' }), 'INSUFFICIENT_AUTHORITY');
    expectError(s.whenOrg({ ...base, actorId: ADMIN, workspaceId: 'ws-1' }), 'WORKSPACE_EXISTS');
    expectError(s.whenOrg({ ...base, actorId: ADMIN, workspaceId: 'ws-4', plan: 'gold' as never }), 'VALIDATION_FAILED');
    expectError(s.whenOrg({ ...base, actorId: ADMIN, workspaceId: 'ws-4', accessModel: 'custom' as never }), 'VALIDATION_FAILED');
  });
  it('commands on a missing organization are ORGANIZATION_NOT_FOUND', () => {
    const empty = initialOrganizationState();
    expectError(decideOrganization({ type: 'CreateWorkspace', organizationId: 'x', actorId: ADMIN, now: T0, workspaceId: 'w', name: 'n' }, empty), 'ORGANIZATION_NOT_FOUND');
    expectError(decideOrganization({ type: 'JoinOrganization', organizationId: 'x', actorId: 'u', now: T0, newUserId: 'u', email: 'u@x.io' }, empty), 'ORGANIZATION_NOT_FOUND');
    expectError(decideOrganization({ type: 'UpdateProfile', organizationId: 'x', actorId: 'u', now: T0, userId: 'u', changes: {} }, empty), 'ORGANIZATION_NOT_FOUND');
  });
  it('rule 8: joining as an existing org user ignores the display name sent, so a name that would be refused does not refuse the acceptance', () => {
    const s = new Scenario().member('jane');
    const email = s.org.users.get('jane')!.email;
    expectEvents(s.whenOrg({ type: 'JoinOrganization', organizationId: ORG, actorId: 'jane', now: T0, newUserId: 'x', email, displayName: 'Bad\u200bName' }), []);
    expectError(s.whenOrg({ type: 'JoinOrganization', organizationId: ORG, actorId: 'u', now: T0, newUserId: 'u', email: 'new@x.io', displayName: 'Bad\u200bName' }), 'VALIDATION_FAILED');
  });
  it('rule 6: names are stored composed (NFC): "José" typed with a combining accent is the same name as typed precomposed', () => {
    const s = new Scenario();
    const [joined] = expectEvents(s.whenOrg({ type: 'JoinOrganization', organizationId: ORG, actorId: 'u', now: T0, newUserId: 'u', email: 'u@x.io', displayName: ' Jose\u0301 ' }), ['UserJoinedOrganization']);
    expect(joined!.data.displayName).toBe('Jos\u00e9');
    const [updated] = expectEvents(
      s.whenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: ADMIN, now: T0, userId: ADMIN, changes: { displayName: 'Rene\u0301e', alias: 'Zoe\u0308' } }),
      ['UserProfileUpdated'],
    );
    expect(updated!.data.changes).toEqual({ displayName: 'Ren\u00e9e', alias: 'Zo\u00eb' });
  });
  it('joining with an invalid email is refused', () => {
    const s = new Scenario();
    expectError(s.whenOrg({ type: 'JoinOrganization', organizationId: ORG, actorId: 'u', now: T0, newUserId: 'u', email: 'nope' }), 'VALIDATION_FAILED');
  });
  it('rule 6: names refuse control characters and direction overrides (they display as something else and break exports); emoji joiners are fine', () => {
    const s = new Scenario();
    const join = (displayName: string) => s.whenOrg({ type: 'JoinOrganization', organizationId: ORG, actorId: 'u', now: T0, newUserId: 'u', email: 'u@x.io', displayName });
    for (const bad of ['Ja\u0000ne', 'Jane\nDoe', 'Jane \u202Eeod', 'x\u2066y']) expectError(join(bad), 'VALIDATION_FAILED');
    expectError(s.whenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: ADMIN, now: T0, userId: ADMIN, changes: { alias: 'a\tb' } }), 'VALIDATION_FAILED');
    expectEvents(join('Jane \u{1F469}\u200D\u{1F4BB} Doe'), ['UserJoinedOrganization']);
    expectEvents(join('   '), ['UserJoinedOrganization']); // blank: the default name from the address, as before
  });
  it('rule 6: a name must show something, and hide nothing between its letters (zero-width spaces, word joiners); variation selectors and joiners within a visible name are fine', () => {
    const s = new Scenario();
    const join = (displayName: string) => s.whenOrg({ type: 'JoinOrganization', organizationId: ORG, actorId: 'u', now: T0, newUserId: 'u', email: 'u@x.io', displayName });
    for (const bad of ['\u200B', '\u200D', '\uFE0F', '\u2060', '\u3164', 'Sales\u200BEU', 'Ja\uFEFFne', 'Ja\u00ADne']) expectError(join(bad), 'VALIDATION_FAILED');
    for (const fine of ['\u2764\uFE0F Jane', 'Jane \u{1F469}\u200D\u{1F4BB}', 'Cafe\u0301', '\u0915\u094D\u200D\u0937']) expectEvents(join(fine), ['UserJoinedOrganization']);
    expectError(s.whenOrg({ type: 'CreateWorkspace', organizationId: ORG, actorId: ADMIN, now: T0, workspaceId: 'w2', name: '\u2060' }), 'VALIDATION_FAILED');
  });
  it('rule 6: a name holds no half of a surrogate pair, no line or paragraph separator and no Hangul filler between letters (probe 12)', () => {
    const s = new Scenario();
    const join = (displayName: string) => s.whenOrg({ type: 'JoinOrganization', organizationId: ORG, actorId: 'u', now: T0, newUserId: 'u', email: 'u@x.io', displayName });
    const refused = (displayName: string) => {
      const result = join(displayName);
      expectError(result, 'VALIDATION_FAILED');
      return result.ok ? undefined : result.error.fields?.[0]?.message;
    };
    expect(refused('\ud800')).toMatch(/surrogate/);
    expect(refused('Jane \udfff')).toMatch(/surrogate/);
    expect(refused('a\u2028b')).toMatch(/control/);
    expect(refused('a\u2029b')).toMatch(/control/);
    for (const filler of ['\u115F', '\u1160', '\u3164', '\uFFA0']) expect(refused(`a${filler}b`)).toMatch(/invisible/);
    // and every other character that shows nothing, by Unicode's properties (the reviews' lists), between Latin letters
    const hiddenBetweenLetters = ['\uFFF9', '\uFFFB', '\u206A', '\u206F', '\u{1D173}', '\u{E0041}', '\u200E', '\u200F', '\u061C', '\u180B', '\u180F', '\u2800', '\u034F', '\u{1D159}'];
    // the joiners and selectors too, where nothing needs them: "Sales\u200CEU" looks like "SalesEU"
    hiddenBetweenLetters.push('\u200C', '\u200D', '\uFE0F', '\u{E0100}');
    // a joiner after an emoji that joins it to no other one (probe 14), a noncharacter
    expect(refused('\u{1F44D}\u200DEU')).toMatch(/invisible/);
    expect(refused('Sales\uFFFFEU')).toMatch(/noncharacter/);
    expect(refused('Sales 5\u200F')).toMatch(/invisible/);
    for (const hidden of hiddenBetweenLetters) expect({ hidden, message: refused(`Sales${hidden}EU`) }).toEqual({ hidden, message: expect.stringMatching(/invisible/) });
    // ASCII smuggled in tag characters behind a flag: only the three flags Unicode recommends are tag sequences
    const tags = (text: string) => Array.from(text, (c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('');
    expect(refused(`Jane \u{1F3F4}${tags('wire 5000 to 123456')}\u{E007F}`)).toMatch(/invisible/);
    // what emoji and scripts need stays, where they need it
    for (const fine of [
      'Jane \u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}', // the flag of England
      'Jane \u2764\uFE0F', // an emoji's presentation selector
      'Jane \u{1F469}\u{1F3FD}\u200D\u{1F4BB}', // a ZWJ sequence after a skin tone
      '\u0915\u094D\u200D\u0937', // ZWJ after a virama (Devanagari)
      '\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645', // ZWNJ in Persian
      '\u845B\u{E0100}', // an ideographic variant
      '\u05D3\u05E0\u05D9\u05D0\u05DC\u200F', // a Hebrew name with a right-to-left mark, as pasted
      '\u182E\u1823\u1829\u182D\u1823\u182F\u180B', // Mongolian with a free variation selector
      '\u09B0\u200D\u09CD\u09AF\u09BE\u09AC', // Bengali ra-phala: ZWJ before the virama (probe 14)
      '\u05D7\u05D3\u05E8 5\u200F', // a Hebrew name ending in a digit and its right-to-left mark (probe 14)
      'Jane \u{1F3F3}\uFE0F\u200D\u{1F308}', // the rainbow flag: ZWJ after a presentation selector
      'Jane \u{1F468}\u200D\u{1F469}\u200D\u{1F467}', // a family
    ])
      expectEvents(join(fine), ['UserJoinedOrganization']);
    // a whole pair is one character: an emoji outside the first plane is a name
    expectEvents(join('Jane \u{1F600}'), ['UserJoinedOrganization']);
    // Hangul syllables (not fillers) are letters like any other
    expectEvents(join('\uD55C\uAE00'), ['UserJoinedOrganization']);
  });
});
