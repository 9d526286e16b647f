import type { ReplayedRoster, RosterAsOf } from './access-as-of';

/**
 * The roster's JSON in parts: its fields in RosterAsOf's order, the members a thousand at a time (a turn of the event
 * loop between). The text is the one `JSON.stringify` of the whole roster gives (roster-json.spec.ts).
 */
export async function* rosterJson(roster: ReplayedRoster): AsyncGenerator<string> {
  const { workspaceId, asOf, plan, orgAdmins, partnerTeams, basedOn } = roster;
  yield `${JSON.stringify({ workspaceId, asOf, plan }).slice(0, -1)},"members":[`;
  let first = true;
  for await (const batch of roster.members()) {
    if (batch.length === 0) continue;
    yield `${first ? '' : ','}${JSON.stringify(batch).slice(1, -1)}`;
    first = false;
  }
  yield `],${JSON.stringify({ orgAdmins, partnerTeams, basedOn }).slice(1)}`;
}

/** The whole roster in memory (tests: what the streamed text must equal). */
export async function wholeRoster(roster: ReplayedRoster): Promise<RosterAsOf> {
  const { workspaceId, asOf, plan, orgAdmins, partnerTeams, basedOn } = roster;
  const members: RosterAsOf['members'] = [];
  for await (const batch of roster.members()) members.push(...batch);
  return { workspaceId, asOf, plan, members, orgAdmins, partnerTeams, basedOn };
}
