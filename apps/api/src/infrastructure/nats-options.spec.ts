import { natsConnectionOptions } from './nats-options';

describe("NATS_URL's credentials handed to the NATS client (probe 54 F4)", () => {
  it('user and password, a token, none; percent-decoded, a stray % taken as typed; never left in the server URL', () => {
    expect(natsConnectionOptions('nats://rc:p%40ss%2Fword@127.0.0.1:4222')).toEqual({ servers: ['nats://127.0.0.1:4222'], user: 'rc', pass: 'p@ss/word' });
    expect(natsConnectionOptions('nats://s3cr3t@nats.internal:4222')).toEqual({ servers: ['nats://nats.internal:4222'], token: 's3cr3t' });
    expect(natsConnectionOptions('tls://nats.internal:4443')).toEqual({ servers: ['tls://nats.internal:4443'] });
    expect(natsConnectionOptions('nats://rc:p%zz@127.0.0.1:4222')).toEqual({ servers: ['nats://127.0.0.1:4222'], user: 'rc', pass: 'p%zz' });
  });
});
