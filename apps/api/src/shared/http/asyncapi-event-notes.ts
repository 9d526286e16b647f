/**
 * What a consumer folding the integration events needs to know of some types' data beyond their shape (probe 67 F2,
 * F3: it was said in docs/rules.md only): added to the generated `<type>Data` schemas of the AsyncAPI document as
 * descriptions (the schemas are generated from the domain's types, without their comments).
 */
export const EVENT_DATA_NOTES: Readonly<Record<string, { description?: string; fields?: Record<string, string> }>> = {
  WorkspaceCreated: {
    fields: {
      ownerUserId:
        "the creating org admin, the workspace's first owner. Their access is not in the event: the access model's preset gives it (levels: the role `owner`; permissions: the role `member` and every grant; studio: every role — docs/rules.md rule 3), and a later version may change a preset: read it back (`GET /v1/workspaces/{id}/members/{userId}`) rather than hard-code it",
    },
  },
  UserDeleted: {
    description:
      "A signal to erase (rule 12): the user's profile (name, alias, avatar, every address they held, a pending email change). The invitations whose addresses the deletion erased are named by `UserDeletedFromWorkspace.invitationIds`, in workspaces that `workspaceIds` may not list.",
    fields: { workspaceIds: 'the workspaces where the user was an active member when deleted (a `UserDeletedFromWorkspace` is appended to each, and to every other workspace holding one of their invitations)' },
  },
  UserDeletedFromWorkspace: {
    fields: {
      invitationIds:
        "the invitations of this workspace whose address the deletion erased: the one the user accepted, those bound to them, those to an address erased with them (also one cancelled before the user existed, or pending to their new address). A consumer erases those invitations' addresses; it is appended to every workspace holding one, which may be more than `UserDeleted.workspaceIds`",
    },
  },
  // probe 82 F7, probe 80 F14 (session 63; probe 106 F3: they were undescribed)
  UserInvited: {
    fields: { invitedBy: "who sent it: a user id, or 'system' (the system key). Written since session 63; an older event is published with its metadata's actor here, the same person" },
  },
  InvitationCancelled: {
    fields: {
      cancelledBy:
        "who cancelled it — by hand, or by deleting its user or erasing its address: a user id, or 'system'. Written since session 63; an older event is published with its metadata's actor here, the same person",
    },
  },
  AccessRevoked: {
    fields: { revokedBy: "who revoked the member: a user id, or 'system'. Written since session 63; an older event is published with its metadata's actor here, the same person" },
  },
  InvitationAddressErased: {
    fields: { invitationIds: 'the invitations of this workspace whose address (one no user holds or held) was erased: a consumer erases their addresses' },
  },
  PresenceChanged: {
    fields: {
      lastSeenAt:
        "the user's last heartbeat as known when the status changed. Only a change of status is an event: between two, heartbeats move the member read's `lastSeenAt`, not the events",
    },
  },
  // rule 16, docs/adr/0040 (probe 103 F1: a consumer folding who is offered which team could not learn this here)
  TeamShared: {
    description:
      'The team is offered to the partners named, each until the owner stops (`TeamUnshared`) or the two workspaces are unlinked (`WorkspacesUnnetworked`, with no `TeamUnshared`). Schema version 2 (since session 62) always names them; version 1 named none and meant every partner, present and future, until the team\'s sharing next changed.',
    fields: { partnerWorkspaceIds: 'the partner workspaces the sharing reaches (schema version 2); absent in version 1: every partner, present and future' },
  },
  TeamUnshared: {
    description:
      'The team is no longer offered to the partners named (schema version 2). When it was shared with every partner (a version-1 `TeamShared`), it stays offered to the partners linked now and not named. Version 1 named none: offered to no partner any more.',
    fields: { partnerWorkspaceIds: 'the partner workspaces it is taken from (schema version 2); absent in version 1: every partner' },
  },
  WorkspacesUnnetworked: {
    description:
      "The link is removed (one copy in each workspace's stream, each from its own side). It also ends the sharing of each side's teams with the other, and each side's choices of the other's teams: no `TeamUnshared` or `PartnerTeamVisibilityChanged` is appended for those. Linked again, nothing is offered until shared again (docs/adr/0040).",
  },
};

/** `schema` (a generated `<type>Data`) with the notes of `type` as descriptions */
export function withEventNotes(type: string, schema: Record<string, unknown>): Record<string, unknown> {
  const notes = EVENT_DATA_NOTES[type];
  if (!notes) return schema;
  const properties = { ...(schema.properties as Record<string, Record<string, unknown>>) };
  for (const [field, description] of Object.entries(notes.fields ?? {})) {
    if (!properties[field]) throw new Error(`asyncapi-event-notes: ${type} has no field ${field}`);
    properties[field] = { ...properties[field], description };
  }
  return { ...schema, ...(notes.description && { description: notes.description }), properties };
}
