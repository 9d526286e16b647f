import EVENT_DATA_SCHEMAS from '../generated/event-data-schemas.json';
import { EVENT_DATA_NOTES, withEventNotes } from './asyncapi-event-notes';

describe('the AsyncAPI notes on event data a consumer must know (probe 67 F2, F3)', () => {
  it('name fields the generated schemas have, and land on them as descriptions', () => {
    const schemas = EVENT_DATA_SCHEMAS as Record<string, Record<string, unknown>>;
    for (const type of Object.keys(EVENT_DATA_NOTES)) expect(() => withEventNotes(type, schemas[type]!)).not.toThrow();
    const deleted = withEventNotes('UserDeletedFromWorkspace', schemas.UserDeletedFromWorkspace!) as { properties: Record<string, { description?: string }> };
    expect(deleted.properties.invitationIds!.description).toMatch(/^the invitations of this workspace whose address the deletion erased/);
    expect((withEventNotes('UserDeleted', schemas.UserDeleted!) as { description?: string }).description).toMatch(/^A signal to erase/);
    // the generated file is left as it is
    expect(schemas.UserDeletedFromWorkspace!.description).toBeUndefined();
  });

  it('refuses a note on a field the type does not have (a renamed field would leave its note behind)', () => {
    expect(() => withEventNotes('WorkspaceCreated', { properties: {} })).toThrow('asyncapi-event-notes: WorkspaceCreated has no field ownerUserId');
  });
});
