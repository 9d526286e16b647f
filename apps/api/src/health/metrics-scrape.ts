import { createHash, timingSafeEqual } from 'node:crypto';
import { type ProblemBody, problem } from '../shared/http/problem-body';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Why a scrape of /metrics is refused, if it is (the API's and the projector process's /metrics): off without a token
 * (404 METRICS_DISABLED), else only `Authorization: Bearer <ROLLCALL_METRICS_TOKEN>` (401 otherwise).
 */
export function scrapeRefusal(token: string | undefined, authorization: string | undefined): ProblemBody | undefined {
  if (!token) return problem(404, 'METRICS_DISABLED', 'Metrics are off: set ROLLCALL_METRICS_TOKEN and scrape /metrics with Authorization: Bearer <token>.');
  const given = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  // compared as digests: equal length, constant time
  if (!given || !timingSafeEqual(digest(given), digest(token)))
    return problem(401, 'UNAUTHENTICATED', 'Scraping /metrics needs Authorization: Bearer <ROLLCALL_METRICS_TOKEN>.');
  return undefined;
}
