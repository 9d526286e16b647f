import { OrganizationChains } from './organization-chains';

describe('what an event on an organization\'s own NATS subject follows (previousPosition)', () => {
  it('the organization\'s last event handed over; the checkpoint for one without', () => {
    const chains = new OrganizationChains();
    chains.restart(5n);
    expect(chains.previous('a')).toBe(5n);
    chains.handed('a', 6n);
    chains.handed('b', 7n);
    expect([chains.previous('a'), chains.previous('b'), chains.previous('c')]).toEqual([6n, 7n, 5n]);
  });

  it('probe 114 F3: after a failed confirmation, each organization follows its last event confirmed, not the checkpoint (another organization\'s event)', () => {
    const chains = new OrganizationChains();
    chains.restart(5n);
    chains.handed('a', 6n);
    chains.handed('b', 7n);
    chains.confirmedThrough(7n);
    // handed over, then the confirmation failed: sent again from the checkpoint, 7
    chains.handed('a', 8n);
    chains.handed('b', 9n);
    chains.restart(7n);
    expect([chains.previous('a'), chains.previous('b')]).toEqual([6n, 7n]);
  });

  it('never below the organization\'s true previous event: what was confirmed in part counts up to the checkpoint', () => {
    const chains = new OrganizationChains();
    chains.restart(5n);
    chains.handed('a', 6n);
    chains.handed('a', 8n);
    chains.handed('a', 10n);
    chains.confirmedThrough(8n);
    chains.restart(8n);
    expect(chains.previous('a')).toBe(8n);
  });

  it('a takeover forgets them: another process may have published meanwhile', () => {
    const chains = new OrganizationChains();
    chains.restart(5n);
    chains.handed('a', 6n);
    chains.confirmedThrough(6n);
    chains.clear();
    chains.restart(20n);
    expect(chains.previous('a')).toBe(20n);
  });
});
