import { createHmac } from 'node:crypto';
import { safeEqual } from '../shared/secrets';

/** How long a stream ticket is accepted (docs/rules.md#http-api: a 60-second ticket). */
export const TICKET_TTL_SECONDS = 60;

export interface TicketHolder {
  organizationId: string;
  workspaceId: string;
  actorId: string;
  /** the API key the ticket was taken with: a stream it opens ends, and it opens none, once that key is revoked */
  keyId: string;
}

/**
 * Stream tickets for browsers, whose `EventSource` cannot send headers: `<payload>.<signature>`, payload =
 * base64url of organization, workspace, actor, expiry (epoch ms) and the API key's id, signature = HMAC-SHA256 of the
 * server secret over "presence-stream-ticket:" + payload. Nothing is stored: any replica with the same secret verifies
 * it. A ticket names its workspace, actor and key; a forged, expired or another workspace's ticket is refused, and one
 * of a key revoked since by the stream (probe 83 F2: a ticket outlived its key). A ticket of the four fields written
 * before is refused too (it names no key): it was good for 60 seconds, and the console asks for another.
 */
export class StreamTickets {
  constructor(
    private readonly secret: string,
    private readonly ttlSeconds = TICKET_TTL_SECONDS,
  ) {}

  issue(holder: TicketHolder, nowMs: number): { ticket: string; expiresAt: string } {
    const expires = nowMs + this.ttlSeconds * 1000;
    const payload = Buffer.from([holder.organizationId, holder.workspaceId, holder.actorId, String(expires), holder.keyId].join('\n')).toString('base64url');
    return { ticket: `${payload}.${this.sign(payload)}`, expiresAt: new Date(expires).toISOString() };
  }

  /** the holder of a valid ticket for this workspace, or undefined */
  verify(ticket: string, workspaceId: string, nowMs: number): TicketHolder | undefined {
    const m = /^([A-Za-z0-9_-]{1,600})\.([A-Za-z0-9_-]{43})$/.exec(ticket);
    if (!m || !safeEqual(this.sign(m[1]!), m[2]!)) return undefined;
    const parts = Buffer.from(m[1]!, 'base64url').toString().split('\n');
    if (parts.length !== 5 || !/^\d{1,16}$/.test(parts[3]!) || parts[4] === '') return undefined;
    const [organizationId, ticketWorkspace, actorId, expires, keyId] = parts as [string, string, string, string, string];
    if (ticketWorkspace !== workspaceId || Number(expires) <= nowMs) return undefined;
    return { organizationId, workspaceId, actorId, keyId };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(`presence-stream-ticket:${payload}`).digest('base64url');
  }
}
