import fc from 'fast-check';
import { normalizeAccess, sameList, sameRestrictions, type Restrictions } from './access';
import { LEVELS, STUDIO } from './catalog';

// sameList and sameRestrictions decide whether a change of access has an event (rule 17: each change is a step of the
// history). They compare without building normalized copies; these properties hold them to the normalized form.
const normalizedJson = (restrictions: Restrictions, model = LEVELS) =>
  JSON.stringify(normalizeAccess({ roles: [], grants: [], restrictions }, model).restrictions);

const restrictionsOf = (names: string[]) =>
  fc.dictionary(fc.constantFrom(...names), fc.oneof(fc.constant<true>(true), fc.constantFrom('all', 'team_and_self', 'self_only', 'x')), {
    maxKeys: names.length,
  });

describe('rule 17: comparing accesses (sameList, sameRestrictions)', () => {
  const names = [...Object.keys(LEVELS.restrictions), 'unknown_one'];

  it('two restrictions are the same exactly when their normalized forms are (a data scope at its default counts as none)', () => {
    fc.assert(
      fc.property(restrictionsOf(names), restrictionsOf(names), (a, b) => {
        expect(sameRestrictions(a, b, LEVELS)).toBe(normalizedJson(a) === normalizedJson(b));
        expect(sameRestrictions(a, a, LEVELS)).toBe(true);
        expect(sameRestrictions(a, b, LEVELS)).toBe(sameRestrictions(b, a, LEVELS));
      }),
      { numRuns: 2000 },
    );
  });

  it('a scope at its default is no restriction; another value or a switch is', () => {
    expect(sameRestrictions({ contact_visibility: 'all' }, {}, LEVELS)).toBe(true);
    expect(sameRestrictions({}, { contact_visibility: 'all' }, LEVELS)).toBe(true);
    expect(sameRestrictions({ contact_visibility: 'self_only' }, {}, LEVELS)).toBe(false);
    expect(sameRestrictions({ contact_visibility: 'self_only' }, { contact_visibility: 'team_and_self' }, LEVELS)).toBe(false);
    expect(sameRestrictions({ data_export: true }, { data_export: true, contact_visibility: 'all' }, LEVELS)).toBe(true);
    expect(sameRestrictions({ data_export: true }, { integrations: true }, LEVELS)).toBe(false);
    // without the model a default value is a value like any other
    expect(sameRestrictions({ contact_visibility: 'all' }, {}, undefined)).toBe(false);
    expect(sameRestrictions({}, {}, STUDIO)).toBe(true);
  });

  it('an own "__proto__" restriction is compared as data', () => {
    const withProto = JSON.parse('{"__proto__": true}') as Restrictions;
    expect(sameRestrictions(withProto, {}, LEVELS)).toBe(false);
    expect(sameRestrictions({}, withProto, LEVELS)).toBe(false);
    expect(sameRestrictions(withProto, JSON.parse('{"__proto__": true}') as Restrictions, LEVELS)).toBe(true);
  });

  it('two lists are the same when they hold the same values in any order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e')), fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e')), (a, b) => {
        expect(sameList(a, b)).toBe(JSON.stringify([...a].sort()) === JSON.stringify([...b].sort()));
        expect(sameList(a, [...a].reverse())).toBe(true);
      }),
    );
    expect(sameList(['a', 'a'], ['a', 'b'])).toBe(false);
  });
});
