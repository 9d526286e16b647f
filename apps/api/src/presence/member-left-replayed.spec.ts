import { Logger } from '@nestjs/common';
import { IdempotencyKeyErasedError } from '../shared/command-path/idempotency';
import type { StreamHandler } from '../shared/command-path/stream-handler';
import type { LeaseStore } from './leases';
import { PresenceReactions } from './presence-handlers';

// Two replicas on one data dir both react to a user's deletion (the offline after `deleted`), under one key derived
// from the event: the second finds the first's append, about a user deleted since, and the replay is refused as erased.
// That is the reaction done, not an error (probe 51 F3: each deletion logged two errors telling the operator to "use a
// new key").
describe('rule 13: the offline after a deletion, decided by another replica first', () => {
  it('is done without an error line when its key is found written about the deleted user', async () => {
    const streams = { handle: jest.fn().mockRejectedValue(new IdempotencyKeyErasedError()) } as unknown as StreamHandler;
    const leases = { get: jest.fn().mockResolvedValue(undefined), release: jest.fn() } as unknown as LeaseStore;
    const reactions = new PresenceReactions(streams, leases, { timeoutMs: 60_000 } as never);
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const left = { eventId: 'e-1', workspaceId: 'ws-1', organizationId: 'org-1', userId: 'u-1', reason: 'deleted' as const };
      await expect(reactions.memberLeft(left, Date.now())).resolves.toEqual([]);
      expect(errors).not.toHaveBeenCalled();
      // any other failure is still an error
      (streams.handle as jest.Mock).mockRejectedValueOnce(new Error('disk I/O error'));
      await expect(reactions.memberLeft(left, Date.now())).rejects.toThrow('disk I/O error');
      expect(errors).toHaveBeenCalledTimes(1);
    } finally {
      errors.mockRestore();
    }
  });
});
