import type { NatsConnection } from '@nats-io/transport-node';
import { NatsPublishRefusals, confirmNatsPublishes } from './nats-publish-refusals';

/** a NATS connection whose status listener the test feeds, and whose flush answers at once */
function connection() {
  let push!: (status: unknown) => void;
  const statuses = (async function* () {
    for (;;) yield await new Promise((resolve) => (push = resolve));
  })();
  const nc = { status: () => statuses, flush: async () => undefined } as unknown as NatsConnection;
  const refused = (subject: string, operation = 'publish') => push({ type: 'error', error: Object.assign(new Error(`Permissions Violation for Publish to "${subject}"`), { name: 'PermissionViolationError', operation, subject }) });
  return { nc, refused, tick: () => new Promise((resolve) => setImmediate(resolve)) };
}

describe("the NATS server's refusals of Rollcall's publishes of integration events (probe 113 F1)", () => {
  it('a refusal fails the confirmation that follows it, naming the subject; the next confirms', async () => {
    const refusals = new NatsPublishRefusals();
    const { nc, refused, tick } = connection();
    await confirmNatsPublishes(nc, refusals);
    await tick();
    refused('rollcall.org.acme.events.UserInvited');
    await expect(confirmNatsPublishes(nc, refusals)).rejects.toThrow(/refused 1 publish\(es\) .*"rollcall\.org\.acme\.events\.UserInvited"/);
    await expect(confirmNatsPublishes(nc, refusals)).resolves.toBeUndefined();
  });

  it('other refusals (a subscription, a reply subject) are not the publisher\'s', async () => {
    const refusals = new NatsPublishRefusals();
    const { nc, refused, tick } = connection();
    await confirmNatsPublishes(nc, refusals);
    await tick();
    refused('_INBOX.abc');
    refused('rollcall.events.>', 'subscription');
    await expect(confirmNatsPublishes(nc, refusals)).resolves.toBeUndefined();
  });

  it('probe 114 F2: a new subscription forgets the refusals of the sends before it (they came in after its failure)', async () => {
    const refusals = new NatsPublishRefusals();
    const { nc, refused, tick } = connection();
    await confirmNatsPublishes(nc, refusals);
    await tick();
    refused('rollcall.org.acme.events.UserInvited');
    await expect(confirmNatsPublishes(nc, refusals)).rejects.toThrow(/refused 1/);
    // the failed attempt's later publishes are refused after it gave up
    refused('rollcall.org.acme.events.InvitationResent');
    await tick();
    refusals.forget();
    await expect(confirmNatsPublishes(nc, refusals)).resolves.toBeUndefined();
  });
});
