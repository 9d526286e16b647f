import { SYSTEM_ACTOR } from './events';
import { caseFold, checkEmail, checkText, checkUrl, emailKey, nameProblem, normalizeEmail } from './validation';
import { decideOrganization } from '../organization/decider';
import { initialOrganizationState } from '../organization/state';
import { ADMIN, HOURS_48, ORG, Scenario, T0, by, expectError, expectEvents } from '../testing/fixture';

/** Addresses that look like an ordinary one on screen but are not: every path refuses them. */
const INVISIBLE: Record<string, string> = {
  NUL: 'ja\u0000ne@acme.test',
  'a bell': 'jane\u0007@acme.test',
  DEL: 'jane\u007f@acme.test',
  'a line feed inside': 'jane@acme.test\nBcc: x@evil.test',
  'a right-to-left override': 'jane\u202e@acme.test',
  'a left-to-right isolate': 'jane\u2066@acme.test',
  'a zero-width space': 'ja\u200bne@acme.test',
  'a zero-width joiner in the domain': 'jane@ac\u200dme.test',
  'a zero-width non-joiner in the domain': 'jane@ac\u200cme.test',
  'a soft hyphen in the domain': 'jane@ac\u00adme.test',
  'a byte-order mark in front': '\ufeffjane@acme.test',
  'a no-break space': 'jane\u00a0@acme.test',
  'a Hangul filler': 'jane\u3164@acme.test',
  'a variation selector': 'jane\ufe0f@acme.test',
  'a tag character': 'jane\u{e0041}@acme.test',
  'a private-use character': 'jane\ue000@acme.test',
  'a lone surrogate': 'jane\ud800@acme.test',
};

const createOrganization = (email: string) =>
  decideOrganization(
    {
      type: 'CreateOrganization',
      organizationId: 'org-2',
      actorId: SYSTEM_ACTOR,
      now: T0,
      name: 'Other',
      admin: { userId: 'a2', email, displayName: 'Ada' },
      apiKey: { keyId: 'k2', secretHash: 'f'.repeat(64) },
    },
    initialOrganizationState(),
  );

describe('rule 6: one strict email rule, used by invitations, profile emails and org admins', () => {
  describe('checkEmail', () => {
    it('rule 6 (probe 89 F2): an address of 255 characters or more, well-formed, is refused for its length; also one whose domain is longer in ASCII', () => {
      const at254 = `${'x'.repeat(64)}@${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(56)}.test`;
      expect(at254).toHaveLength(254);
      expect(checkEmail('email', at254)).toBeUndefined();
      // spaces around it are trimmed, not counted (probe 90 F2)
      expect(checkEmail('email', ` ${at254} `)).toBeUndefined();
      const tooLong = { field: 'email', message: 'must be at most 254 characters (as it is mailed: lower-cased, its domain in ASCII)' };
      expect(checkEmail('email', `${'x'.repeat(64)}@${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(57)}.test`)).toEqual(tooLong);
      // 185 characters as typed, 277 once its labels are punycode
      const label = '日本語ドメイン'.repeat(4);
      const idn = `${'x'.repeat(64)}@${[label, label, label, label].join('.')}.test`;
      expect(idn.length).toBeLessThan(254);
      expect(checkEmail('email', idn)).toEqual(tooLong);
    });

    it.each(Object.entries(INVISIBLE))('refuses %s', (_, email) => {
      expect(checkEmail('email', email)).toEqual({ field: 'email', message: expect.any(String) });
    });

    it.each([
      '',
      'not-an-email',
      'a@b',
      'two@@acme.test',
      'spaces in@acme.test',
      '.jane@acme.test',
      'jane.@acme.test',
      'ja..ne@acme.test',
      '"jane doe"@acme.test',
      'jane@acme.test.',
      'jane@-acme.test',
      'jane@acme-.test',
      'jane@acme..test',
      'jane@acme_corp.test',
      'jane@1.2.3.4',
      'jane@[127.0.0.1]',
      'jane@ex%41mple.test',
      'jane@acme.t',
      `${'x'.repeat(65)}@acme.test`,
      `jane@${'a'.repeat(64)}.test`,
      // 64 + 1 + 191 = 256 characters: each part within its own limit, the whole over 254
      `${'x'.repeat(64)}@${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(58)}.test`,
      42,
      null,
    ])('refuses %p', (email) => {
      expect(checkEmail('email', email)).toEqual({ field: 'email', message: expect.any(String) });
    });

    it.each([
      'jane@acme.test',
      '  Jane.Doe@Example.COM ',
      "o'brien+news@acme.test",
      'a!#$%&*/=?^_`{|}~-@acme.test',
      'jane@sub.domain-1.acme.test',
      'jane@bücher.example',
      'jane@xn--bcher-kva.example',
      'jürgen@bücher.example',
      'jane@例え.テスト',
      'jane@ａｃｍｅ.test',
    ])('accepts %p', (email) => {
      expect(checkEmail('email', email)).toBeUndefined();
    });

    it('rule 6: an address that shows nothing where it seems to show something is refused: a blank Braille pattern, an atom starting with a combining mark (probe 27)', () => {
      expect(checkEmail('email', '\u2800jane@acme.test')?.message).toMatch(/invisible/);
      expect(checkEmail('email', 'ja\u2800ne@acme.test')?.message).toMatch(/invisible/);
      expect(checkEmail('email', '\u0301@acme.test')?.message).toMatch(/combining mark/);
      expect(checkEmail('email', 'jane.\u0301x@acme.test')?.message).toMatch(/combining mark/);
      // a mark on a letter is part of it: decomposed or composed, the same address
      expect(checkEmail('email', 'jose\u0301@acme.test')).toBeUndefined();
    });

    it('names the problem: invisible characters are called so', () => {
      expect(checkEmail('email', 'ja\u200bne@acme.test')?.message).toMatch(/invisible|control/);
      expect(checkEmail('email', 'ja ne@acme.test')?.message).toBe('must not contain spaces');
      expect(checkEmail('email', 'ja\u00a0ne@acme.test')?.message).toBe('must not contain spaces');
    });

    it('refuses exactly the addresses whose normalized form is longer than 254 characters', () => {
      // local parts lower-cased to other letters of the same length (İ: taken as i) or as they are, domains that IDNA lengthens
      // (ü → xn--…) or keeps: every length around the limit, on both sides
      const lengths = new Set<number>();
      for (const local of ['a'.repeat(64), 'İ'.repeat(32), ' Jane.Doe', 'ü'.repeat(30)])
        for (const first of ['a', 'ü'])
          for (let size = 170; size <= 250; size++) {
            const labels = Array.from({ length: Math.ceil(size / 50) }, (_, i) => 'a'.repeat(Math.max(1, Math.min(49, size - i * 50 - 1))));
            const email = `${local}@${first}${labels.join('.')}.test`;
            const normalized = normalizeEmail(email);
            lengths.add(normalized.length);
            expect([email, checkEmail('email', email) !== undefined]).toEqual([email, normalized.length > 254]);
          }
      expect([253, 254, 255, 256].every((n) => lengths.has(n))).toBe(true);
    });
  });

  describe('normalizeEmail', () => {
    it('trims, lower-cases and turns an IDN domain into its ASCII (punycode) form', () => {
      expect(normalizeEmail('  Jane.Doe@Bücher.Example ')).toBe('jane.doe@xn--bcher-kva.example');
      expect(normalizeEmail('JANE@XN--BCHER-KVA.EXAMPLE')).toBe('jane@xn--bcher-kva.example');
      expect(normalizeEmail('jane@ａｃｍｅ.test')).toBe('jane@acme.test');
      expect(normalizeEmail('jane@例え.テスト')).toBe('jane@xn--r8jz45g.xn--zckzah');
    });

    it('is idempotent and leaves an already normalized ASCII address as it is', () => {
      for (const email of ['jane@acme.test', 'Jürgen@Bücher.example', '  X@Y.test ']) expect(normalizeEmail(normalizeEmail(email))).toBe(normalizeEmail(email));
      expect(normalizeEmail('jane.doe+x@acme.test')).toBe('jane.doe+x@acme.test');
    });

    it('rule 6: the Turkish capital İ (Caps Lock on a Turkish keyboard) is the i it stands for, not an i with a dot above (probe 73 F1)', () => {
      expect(normalizeEmail('İSMAİL@acme.test')).toBe('ismail@acme.test');
      expect(normalizeEmail('I\u0307smail@acme.test')).toBe('ismail@acme.test');
      // an address stored so before: compared as the same person
      expect(emailKey('i\u0307smai\u0307l@acme.test')).toBe('ismail@acme.test');
      expect(caseFold('İstanbul')).toBe('istanbul');
      // the dotless ı stays a letter of its own
      expect(normalizeEmail('ISMAıL@acme.test')).toBe('ismaıl@acme.test');
      // İ under another accent is one letter with it, as typed precomposed (probe 74 F2); under a dot below too
      expect(normalizeEmail('\u0130\u0301PEK@acme.test')).toBe(normalizeEmail('\u00edpek@acme.test'));
      expect(normalizeEmail('\u0130\u0323PEK@acme.test')).toBe('\u1ecbpek@acme.test');
    });

    it('rule 6: an İ in the domain (the same Caps Lock: GMAİL) is the i it stands for, not a punycode label of an i with a dot above (probe 121 F7)', () => {
      expect(normalizeEmail('İSMAİL@GMAİL.TEST')).toBe('ismail@gmail.test');
      expect(normalizeEmail('t@İSTANBUL.test')).toBe('t@istanbul.test');
      // typed as i and a combining dot, or as the punycode IDNA made of it: the same domain
      expect(normalizeEmail('ismail@gmai\u0307l.test')).toBe('ismail@gmail.test');
      expect(normalizeEmail('ismail@xn--gmail-bgd.test')).toBe('ismail@gmail.test');
      expect(checkEmail('email', 'AYSE@GMAİL.TEST')).toBeUndefined();
      // a real IDN domain keeps its punycode; an İ among other letters of one is an i there too
      expect(normalizeEmail('jane@bücher.example')).toBe('jane@xn--bcher-kva.example');
      expect(normalizeEmail('jane@BÜCHERİ.example')).toBe(normalizeEmail('jane@bücheri.example'));
    });

    it('rule 6: inviting ismail@GMAİL while ismail@gmail is a member is ALREADY_MEMBER (probe 121 F7: a second user at a domain nobody holds)', () => {
      const s = new Scenario();
      s.invited('ismail@gmail.test');
      const again = s.when({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'i2', email: 'İSMAİL@GMAİL.TEST', ttlSeconds: HOURS_48 });
      expectError(again, 'ALREADY_INVITED');
    });

    it('composes the local part (NFC): the same letters typed two ways are one address', () => {
      expect(normalizeEmail('ju\u0308rgen@acme.test')).toBe(normalizeEmail('j\u00fcrgen@acme.test'));
    });
  });

  describe('every path', () => {
    it.each(Object.entries(INVISIBLE))('an invitation to an address with %s is VALIDATION_FAILED on email', (_, email) => {
      const s = new Scenario();
      const d = s.when({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'i', email, ttlSeconds: HOURS_48 });
      expectError(d, 'VALIDATION_FAILED');
      expect(!d.ok && d.error.fields).toEqual([{ field: 'email', message: expect.any(String) }]);
    });

    it.each(Object.entries(INVISIBLE))('a profile email with %s is VALIDATION_FAILED on email', (_, email) => {
      const s = new Scenario();
      const d = s.whenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: ADMIN, now: s.now, userId: ADMIN, changes: { email } });
      expectError(d, 'VALIDATION_FAILED');
      expect(!d.ok && d.error.fields).toEqual([{ field: 'email', message: expect.any(String) }]);
    });

    it.each(Object.entries(INVISIBLE))('an org admin with %s is VALIDATION_FAILED on admin.email', (_, email) => {
      const d = createOrganization(email);
      expect(d.ok).toBe(false);
      expect(!d.ok && d.error.fields).toEqual([{ field: 'admin.email', message: expect.any(String) }]);
    });

    it('rule 6: inviting İSMAİL@ while ismail@ is a member is ALREADY_MEMBER (probe 73 F1: a second user of the same person)', () => {
      const s = new Scenario().member('ismail');
      expectError(s.when({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'i1', email: 'İSMAİL@acme.test', ttlSeconds: HOURS_48 }), 'ALREADY_MEMBER');
    });

    it('an IDN address and its punycode are one person: a second invitation is ALREADY_INVITED', () => {
      const s = new Scenario();
      const [invited] = expectEvents(s.when({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'i1', email: 'Jane@Bücher.Example', ttlSeconds: HOURS_48 }), ['UserInvited']);
      expect(invited!.data.email).toBe('jane@xn--bcher-kva.example');
      s.invited('Jane@Bücher.Example');
      expectError(s.when({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'i2', email: 'jane@xn--bcher-kva.example', ttlSeconds: HOURS_48 }), 'ALREADY_INVITED');
    });

    it('an org admin with an IDN address is the member its punycode names', () => {
      const [, , joined] = expectEvents(createOrganization('Ada@Bücher.Example'), ['OrganizationCreated', 'ApiKeyIssued', 'UserJoinedOrganization']);
      expect(joined!.data.email).toBe('ada@xn--bcher-kva.example');
    });

    it('a profile email in IDN form is requested in its punycode form', () => {
      const s = new Scenario();
      const d = s.whenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: ADMIN, now: s.now, userId: ADMIN, changes: { email: 'ADMIN@Bücher.Example' } });
      expect(d.ok && d.events.map((e) => (e.data as { email?: string }).email)).toEqual(['admin@xn--bcher-kva.example']);
    });
  });
});

describe('rule 6: the email rule answers the same when asked again (its latest answers are remembered)', () => {
  it('rule 6: a refused address is refused again under the field asked for, an accepted one accepted, and normalized alike, past the memory\'s size', () => {
    for (let round = 0; round < 3; round++) {
      expect(checkEmail('email', 'not an address')).toEqual({ field: 'email', message: 'must not contain spaces' });
      expect(checkEmail('changes.email', 'not an address')).toEqual({ field: 'changes.email', message: 'must not contain spaces' });
      expect(checkEmail('email', 'Jane@Bücher.Example')).toBeUndefined();
      expect(checkEmail('email', 'jane@bad_domain.example')).toEqual({ field: 'email', message: 'must be a valid email address' });
      expect(normalizeEmail(' Jane@Bücher.Example ')).toBe('jane@xn--bcher-kva.example');
      // more addresses than the memory keeps: answers stay right after it is dropped
      for (let i = 0; i < 600; i++) expect(normalizeEmail(`User${i}@Example.COM`)).toBe(`user${i}@example.com`);
    }
  });
});

describe('names people type: no accent on nothing (probe 65 F5)', () => {
  it('rule 6: a name that starts with a combining mark is refused, as an address\'s part is; one with a mark on a letter is a name', () => {
    expect(nameProblem('\u0301abc')).toBe('must not start with a combining mark (an accent on nothing)');
    expect(nameProblem('\u20DDJane')).toBe('must not start with a combining mark (an accent on nothing)');
    expect(nameProblem('Jose\u0301')).toBeUndefined();
    expect(nameProblem('\u0915\u094D\u0937')).toBeUndefined(); // क्ष: a virama after a letter
  });

  it('rule 6: a letter under a pile of marks, an accent after a space, a replacement character: refused (probe 73 F4)', () => {
    expect(nameProblem(`Z${'\u0336'.repeat(100)}`)).toBe('must not stack more than 6 combining marks on one letter');
    expect(nameProblem(`x${'\u0301'.repeat(7)}`)).toBe('must not stack more than 6 combining marks on one letter');
    expect(nameProblem('Jane \u0301Doe')).toBe('must not put a combining mark after a space (an accent on nothing)');
    expect(nameProblem('\uFFFD\uFFFD')).toBe('must not contain U+FFFD or U+FFFC (what a broken encoding or a pasted object leaves)');
    expect(nameProblem('Ann\uFFFC')).toBe('must not contain U+FFFD or U+FFFC (what a broken encoding or a pasted object leaves)');
    // what real names carry: Vietnamese typed decomposed, pointed Hebrew, Tibetan stacks, a Hindi conjunct
    for (const name of ['Nguye\u0302\u0303n Thi\u0323 Ngo\u0323c A\u0301nh', 'שָׁלוֹם', 'בְּרֵאשִׁית', 'བསྒྲུབས', 'क्षत्रिय', 'Zoë'])
      expect({ name, problem: nameProblem(name) }).toEqual({ name, problem: undefined });
  });
});

describe('names people type: their length is counted in characters (probe 31)', () => {
  it('rule 6: a name of 200 characters outside the BMP (two UTF-16 units each) is accepted; of 201, refused as "at most 200 characters"', () => {
    expect(checkText('displayName', '𠮷'.repeat(200), 200)).toBeUndefined();
    expect(checkText('displayName', '😀'.repeat(150), 200)).toBeUndefined();
    expect(checkText('displayName', '𠮷'.repeat(201), 200)).toEqual({ field: 'displayName', message: 'must be at most 200 characters' });
    expect(checkText('displayName', 'a'.repeat(201), 200)).toEqual({ field: 'displayName', message: 'must be at most 200 characters' });
    // a variation selector is no character of its own (as the DTOs' MaxLength counts: review of session 31)
    expect(checkText('displayName', '❤️'.repeat(200), 200)).toBeUndefined();
    expect(checkText('displayName', '❤️'.repeat(201), 200)).toEqual({ field: 'displayName', message: 'must be at most 200 characters' });
  });
});

describe('an avatar URL is at most 2,048 characters as it is stored (its WHATWG serialization)', () => {
  it('probe 59: 2,030 × é within 2,048 characters as sent but 12,195 once percent-encoded is refused, saying so; an ASCII URL of 2,048 passes', () => {
    const encoded = `https://a.test/${'é'.repeat(2030)}`;
    expect(encoded.length).toBeLessThanOrEqual(2048);
    expect(checkUrl('avatarUrl', encoded)).toEqual({ field: 'avatarUrl', message: 'must be at most 2048 characters once percent-encoded as it is stored (this one is 12195)' });
    const ascii = `https://a.test/${'a'.repeat(2048 - 'https://a.test/'.length)}`;
    expect(checkUrl('avatarUrl', ascii)).toBeUndefined();
    expect(checkUrl('avatarUrl', `${ascii}b`)).toEqual({ field: 'avatarUrl', message: 'must be at most 2048 characters' });
  });
});
