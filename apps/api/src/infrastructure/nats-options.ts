import { withoutCredentials } from './unreachable-store';

/**
 * The NATS client's connection options from NATS_URL: its server, and the credentials its user part carries
 * (`nats://user:pass@host` → user and password, `nats://token@host` → a token), percent-decoded. The NATS JavaScript
 * client ignores credentials in a server URL (probe 54 F4: `nats://rollcall:secret@host` was refused, "Authorization
 * Violation", so the NATS user with subject permissions docs/security.md asks for could not be given); the other
 * NATS clients read them there, as this does.
 */
export function natsConnectionOptions(url: string): { servers: string[]; user?: string; pass?: string; token?: string } {
  const parsed = new URL(url);
  const user = decoded(parsed.username);
  const pass = decoded(parsed.password);
  const servers = [user || pass ? withoutCredentials(url) : url];
  if (user && pass) return { servers, user, pass };
  if (user) return { servers, token: user };
  return { servers };
}

/** percent-decoded; a `%` that starts no escape (`p%zz`) is taken as typed, not a URIError that stops the start */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
