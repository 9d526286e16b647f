import { formatDuration } from '../shared/durations';
import type { Invitation } from './state';

/** Rule 7: the refusal of an expired link names the lifetime that link was given (the configured TTL when it was sent). */
export const expiredLinkMessage = (inv: Pick<Invitation, 'invitedAt' | 'expiresAt' | 'linkSentAt'>, wayOut = '; ask for it to be resent.'): string => {
  const lifetime = (Date.parse(inv.expiresAt) - Date.parse(inv.linkSentAt ?? inv.invitedAt)) / 1000;
  return `This invitation link has expired (links are valid for ${formatDuration(lifetime)})${wayOut}`;
};
