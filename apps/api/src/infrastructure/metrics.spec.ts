import { Metrics } from './metrics';

describe('Metrics', () => {
  it('probe 116 F8: the mail series are scraped at 0 before anything is counted (a dashboard read "no data")', async () => {
    const text = await new Metrics().registry.metrics();
    for (const kind of ['invitation', 'email-confirmation']) {
      expect(text).toContain(`rollcall_mails_waiting{kind="${kind}"} 0`);
      for (const outcome of ['sent', 'stale', 'failed', 'refused']) expect(text).toContain(`rollcall_mails_dispatched_total{kind="${kind}",outcome="${outcome}"} 0`);
      for (const outcome of ['sent', 'failed', 'refused', 'erased']) expect(text).toContain(`rollcall_mails_handed_over_total{kind="${kind}",outcome="${outcome}"} 0`);
    }
  });
});
