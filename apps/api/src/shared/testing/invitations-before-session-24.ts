// Invitations as the code before session 24 wrote them: their address sealed under the one subject every organization
// shares (no `addressKey`), so that a deletion in one organization erases another's invitations to the address
// (docs/adr/0003, "Session 24"). The specs of what the API does about that — its memory, its snapshots, the races of
// such a deletion with commands on those invitations — write their invitations this way:
//
//   jest.mock('@rollcall/domain', () => jest.requireActual('./testing/invitations-before-session-24').domainBeforeSession24());
//
// (the path relative to the spec). Everything else is the current code: only the decider's UserInvited loses its
// `addressKey`; the invitation's later events follow the state, which then has none.
import type * as Domain from '@rollcall/domain';

/** switched off, the mocked decider writes invitations as the current code does (a spec's tests of both kinds) */
export const beforeSession24 = { invitations: true };

export function domainBeforeSession24(): typeof Domain {
  const actual = jest.requireActual<typeof Domain>('@rollcall/domain');
  return {
    ...actual,
    decideWorkspace: (command, context) => {
      const decision = actual.decideWorkspace(command, context);
      if (!decision.ok || !beforeSession24.invitations) return decision;
      return {
        ...decision,
        events: decision.events.map((e) => {
          if (e.type !== 'UserInvited') return e;
          const { addressKey: _, ...data } = e.data;
          return { ...e, data };
        }),
      };
    },
  };
}

/**
 * A log's appends (EventLog.takeAppends) as the code before session 24 would have written them: no invitation event
 * with an `addressKey`. For specs that write their log directly rather than through the deciders.
 */
export function sentBeforeSession24<A extends { events: { type: string; data: unknown }[] }>(appends: A[]): A[] {
  return appends.map((append) => ({
    ...append,
    events: append.events.map((e) => {
      if (!['UserInvited', 'InvitationResent', 'InvitationCancelled', 'InvitationAccepted'].includes(e.type)) return e;
      const { addressKey: _, ...data } = e.data as Record<string, unknown>;
      return { ...e, data };
    }),
  }));
}
