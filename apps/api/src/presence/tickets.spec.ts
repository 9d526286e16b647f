import { createHmac } from 'node:crypto';
import { StreamTickets, TICKET_TTL_SECONDS } from './tickets';

const holder = { organizationId: 'org-1', workspaceId: 'ws-1', actorId: 'admin', keyId: 'key-1' };
const NOW = Date.parse('2026-03-01T09:00:00.000Z');

describe('rule 13: stream tickets', () => {
  const tickets = new StreamTickets('a-server-secret-of-at-least-32-characters');

  it('names its workspace, actor and API key and is valid for 60 seconds', () => {
    const { ticket, expiresAt } = tickets.issue(holder, NOW);
    expect(TICKET_TTL_SECONDS).toBe(60);
    expect(expiresAt).toBe('2026-03-01T09:01:00.000Z');
    expect(tickets.verify(ticket, 'ws-1', NOW + 59_999)).toEqual(holder);
    expect(tickets.verify(ticket, 'ws-1', NOW + 60_000)).toBeUndefined();
  });

  it('refuses another workspace, another server secret, and any change to the ticket', () => {
    const { ticket } = tickets.issue(holder, NOW);
    expect(tickets.verify(ticket, 'ws-2', NOW)).toBeUndefined();
    expect(new StreamTickets('another-server-secret-of-32-characters!!').verify(ticket, 'ws-1', NOW)).toBeUndefined();
    const [payload, signature] = ticket.split('.') as [string, string];
    const longer = Buffer.from(Buffer.from(payload, 'base64url').toString().replace(/\d+$/, String(NOW + 3_600_000))).toString('base64url');
    expect(tickets.verify(`${longer}.${signature}`, 'ws-1', NOW)).toBeUndefined();
    for (const junk of ['', '.', 'abc', `${payload}.`, `${payload}.${signature}x`]) expect(tickets.verify(junk, 'ws-1', NOW)).toBeUndefined();
  });

  it('refuses a ticket of the four fields written before, which names no API key (probe 83 F2), though signed by this server', () => {
    const secret = 'a-server-secret-of-at-least-32-characters';
    const payload = Buffer.from(['org-1', 'ws-1', 'admin', String(NOW + 30_000)].join('\n')).toString('base64url');
    const signature = createHmac('sha256', secret).update(`presence-stream-ticket:${payload}`).digest('base64url');
    expect(tickets.verify(`${payload}.${signature}`, 'ws-1', NOW)).toBeUndefined();
    // the same fields and a key: good
    const withKey = Buffer.from(['org-1', 'ws-1', 'admin', String(NOW + 30_000), 'key-1'].join('\n')).toString('base64url');
    const signed = createHmac('sha256', secret).update(`presence-stream-ticket:${withKey}`).digest('base64url');
    expect(tickets.verify(`${withKey}.${signed}`, 'ws-1', NOW)).toEqual(holder);
  });
});
