import { sharedAccess } from './shared-access';

describe('sharedAccess (probe 108 F1: a decision state held an access object per invitation)', () => {
  it('gives one frozen object per distinct access value, a copy: the value it was given is left as it is', () => {
    const fromEvent = { roles: ['agent'], grants: [], restrictions: { contact_visibility: 'own' as const } };
    const shared = sharedAccess(fromEvent);
    expect(sharedAccess({ roles: ['agent'], grants: [], restrictions: { contact_visibility: 'own' } })).toBe(shared);
    expect(shared).toEqual(fromEvent);
    expect(shared).not.toBe(fromEvent);
    expect([Object.isFrozen(shared), Object.isFrozen(shared.roles), Object.isFrozen(shared.grants), Object.isFrozen(shared.restrictions)]).toEqual([true, true, true, true]);
    expect(Object.isFrozen(fromEvent) || Object.isFrozen(fromEvent.roles)).toBe(false);
    // another value is another object; a write to a shared one throws (strict mode) rather than change every row
    expect(sharedAccess({ roles: ['manager'], grants: [], restrictions: {} })).not.toBe(shared);
    expect(() => (shared.roles as string[]).push('owner')).toThrow(TypeError);
  });
});
