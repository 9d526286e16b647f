import { type ExecutionContext, Inject, Injectable, createParamDecorator } from '@nestjs/common';
import { type DataExported, type EventMetadata, type ExportedData, toStored } from '@rollcall/domain';
import { type EventStore, newEventId } from '@rollcall/event-store';
import type { AuthedRequest, Principal } from './auth';
import { loggedRequestId } from './command-path/write-pipeline';
import { organizationStream } from './command-path/stream-states';
import { EVENT_STORE } from './tokens';

/**
 * Records each download of personal data as `DataExported` on the organization's stream (probe 69 F9: "who downloaded
 * our user list?" was in the operator's request log only), before its first byte: a download whose record could not be
 * written is refused (the store's fault, a 503), none is handed out unrecorded. Appended with no expected revision, as
 * the mail ledger's records are: a record decides nothing, and a decision on the organization racing it is decided
 * again (a conflict). The organization's changes list it (`data_exported`), with who, which key and which request.
 */
@Injectable()
export class ExportLedger {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async record(principal: Principal, actorId: string, what: ExportedData, about: { workspaceId?: string; userId?: string }, download: DownloadRequest): Promise<void> {
    // the system key downloads none of these (they are an organization's reads); a HEAD sends no byte of the file
    // (probe 81 F5: a link checker's HEADs read as downloads in "who downloaded our user list?")
    if (principal.kind !== 'organization' || download.head) return;
    const correlationId = download.requestId;
    const id = newEventId();
    const exportedAt = new Date().toISOString();
    const event: DataExported = { type: 'DataExported', version: 1, data: { organizationId: principal.organizationId, what, ...about, exportedAt } };
    const metadata: EventMetadata = { actorId, correlationId: correlationId ?? id, causationId: id, idempotencyKey: `export:${id}`, occurredAt: exportedAt, apiKeyId: principal.keyId };
    await this.store.append(organizationStream(principal.organizationId), [{ id, ...toStored(event, metadata) }], 'any');
  }
}

/** a download's request: its id (its log line's; X-Request-Id), for the record's correlationId, and whether it is a HEAD */
export interface DownloadRequest {
  requestId: string | undefined;
  head: boolean;
}

/** `@Download() download: DownloadRequest` */
export const Download = createParamDecorator((_: unknown, ctx: ExecutionContext): DownloadRequest => {
  const req = ctx.switchToHttp().getRequest<AuthedRequest>();
  return { requestId: loggedRequestId(req), head: req.method === 'HEAD' };
});
