import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Script, createContext } from 'node:vm';
import { NODE_FLAGS } from '../apps/api/src/infrastructure/node-flags';

/**
 * docker-compose.yml and the Dockerfile, checked without a container engine (there is none on the machines this
 * project is developed and tested on: the stack itself is never started here).
 *
 * - Compose file: when a compose implementation is installed (`docker compose` v2, or Debian's `docker-compose`,
 *   v1.29, which CI installs), its `config` validates the file against the compose schema, resolves the anchors and
 *   prints the model that the structural checks below then read. Without one, the file is only parsed as YAML and
 *   the same checks run on it. Each test's name says which of the two ran.
 * - Dockerfile: `dockerfile-utils lint` (npm, CI installs it globally) when installed, plus structural checks.
 */
const ROOT = join(__dirname, '..');
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const DOCKERFILE = join(ROOT, 'Dockerfile');

// js-yaml (a devDependency) from version 5 leaves YAML 1.1's merge keys (`<<: *app`, which the compose file uses) off
// unless its merge tag is added: without it the services built from `x-app` lose what they merge
const jsYaml = require('js-yaml') as { load(text: string, options?: object): unknown; CORE_SCHEMA: { withTags(...tags: unknown[]): unknown }; mergeTag: unknown };
const yaml = { load: (text: string) => jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA.withTags(jsYaml.mergeTag) }) };

type Healthcheck = {
  test?: string | string[];
  disable?: boolean;
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
};
type Volume = string | { type?: string; source?: string; target?: string };
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  restart?: string;
  environment?: Record<string, string | number | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: Healthcheck;
  volumes?: Volume[];
  ports?: (string | number | { target?: number | string; published?: number | string })[];
  expose?: (string | number)[];
}
interface ComposeModel {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** `docker compose` (v2 plugin) or `docker-compose` (v1 or v2 standalone), whichever answers `version`. */
const validator = (() => {
  for (const argv of [['docker', 'compose'], ['docker-compose']]) {
    const r = spawnSync(argv[0]!, [...argv.slice(1), 'version', '--short'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    if (r.status === 0 && r.stdout.trim()) return { argv, name: `${argv.join(' ')} ${r.stdout.trim()}` };
  }
  return undefined;
})();

const dockerfileLinter = (() => {
  const r = spawnSync('sh', ['-c', 'command -v dockerfile-utils && dockerfile-utils --version'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) return undefined;
  const [path, version] = r.stdout.trim().split('\n');
  return {
    path: path!,
    name: `dockerfile-utils ${/\d+\.\d+\.\d+/.exec(version ?? '')?.[0] ?? '(version unknown)'}`,
  };
})();

const runCompose = (...args: string[]) =>
  spawnSync(validator!.argv[0]!, [...validator!.argv.slice(1), '-f', COMPOSE_FILE, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    // no stray COMPOSE_FILE / COMPOSE_PROJECT_NAME of the machine: the file alone decides
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMPOSE_'))),
  });

const env = (s: Service): Record<string, string> =>
  Array.isArray(s.environment)
    ? Object.fromEntries(s.environment.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]))
    : Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v ?? '')]));

const dependencies = (s: Service): Record<string, string> =>
  Array.isArray(s.depends_on)
    ? Object.fromEntries(s.depends_on.map((d) => [d, 'service_started']))
    : Object.fromEntries(
        Object.entries(s.depends_on ?? {}).map(([d, c]) => [d, c.condition ?? 'service_started']),
      );

/** A service's mounts, short (`src:dst[:mode]`) or long syntax, as {type, source, target}. */
const mounts = (s: Service) =>
  (s.volumes ?? []).map((v) => {
    if (typeof v !== 'string')
      return { type: v.type ?? 'volume', source: v.source ?? '', target: v.target ?? '' };
    const [source, target] = v.includes(':') ? v.split(':') : ['', v];
    const type = !source ? 'anonymous' : /^[./~]/.test(source) ? 'bind' : 'volume';
    return { type, source: source!, target: target! };
  });

const commandLine = (s: Service) => (Array.isArray(s.command) ? s.command.join(' ') : (s.command ?? ''));
const healthTest = (h: Healthcheck | undefined) =>
  Array.isArray(h?.test) ? h.test : h?.test ? ['CMD-SHELL', h.test] : [];

describe(`docker-compose.yml (${validator ? `validated by \`${validator.name} config\`` : 'no compose validator installed: YAML parse only'})`, () => {
  const raw = yaml.load(readFileSync(COMPOSE_FILE, 'utf8')) as ComposeModel;
  // the model the checks read: the validator's resolved output, else (no validator, or it refused the file) the raw file
  let model: ComposeModel = raw;
  let validation: ReturnType<typeof runCompose> | undefined;
  beforeAll(() => {
    if (!validator) return;
    validation = runCompose('config');
    if (validation.status === 0) model = yaml.load(validation.stdout) as ComposeModel;
  });

  if (validator) {
    it(`is accepted by \`${validator.name} config\` (schema, references, named volumes)`, () => {
      if (validation!.status !== 0)
        throw new Error(
          `${validator.name} config failed (${validation!.status ?? validation!.signal}):\n${validation!.stderr}${validation!.stdout}`,
        );
      expect(runCompose('config', '-q').status).toBe(0);
      expect(Object.keys(model.services).sort()).toEqual(Object.keys(raw.services).sort());
    });
  } else {
    it('parses as YAML (docker-compose config was not run: neither `docker compose` nor `docker-compose` is installed)', () => {
      expect(typeof raw.services).toBe('object');
    });
  }

  it('runs KurrentDB, MongoDB, the API, the projector and a mail catcher', () => {
    expect(Object.keys(model.services).sort()).toEqual(['api', 'eventstore', 'mailpit', 'mongo', 'projector']);
  });

  it('probe 108 F6: the API sends its mails to the stack\'s mail catcher (SMTP_URL names the service and a port it exposes), not to the outbox file', () => {
    const smtp = new URL(String(env(model.services.api!).SMTP_URL));
    expect(smtp.protocol).toBe('smtp:');
    expect(model.services[smtp.hostname]).toBeDefined();
    expect((model.services[smtp.hostname]!.expose ?? []).map(String)).toContain(smtp.port);
  });

  it('every service has a healthcheck and restarts unless stopped; each dependency is awaited healthy', () => {
    for (const [name, s] of Object.entries(model.services)) {
      const test = healthTest(s.healthcheck);
      expect({ name, disabled: s.healthcheck?.disable === true, test: test[0] }).toEqual({
        name,
        disabled: false,
        test: expect.stringMatching(/^CMD(-SHELL)?$/),
      });
      expect({ name, restart: s.restart }).toEqual({ name, restart: 'unless-stopped' });
      for (const [dependency, condition] of Object.entries(dependencies(s))) {
        expect(model.services[dependency]).toBeDefined();
        expect({ name, dependency, condition }).toEqual({ name, dependency, condition: 'service_healthy' });
      }
    }
    for (const app of ['api', 'projector'])
      expect(Object.keys(dependencies(model.services[app]!)).sort()).toEqual(['eventstore', 'mongo']);
  });

  it('api and projector run the image built from ./Dockerfile: no bind mount of the source, no compile at start', () => {
    for (const app of ['api', 'projector']) {
      const s = model.services[app]!;
      const build = typeof s.build === 'string' ? { context: s.build } : s.build;
      expect(build?.context && resolve(ROOT, build.context)).toBe(ROOT);
      expect(existsSync(join(ROOT, build?.dockerfile ?? 'Dockerfile'))).toBe(true);
      expect(mounts(s).filter((m) => m.type === 'bind' || m.target === '/app')).toEqual([]);
      expect(commandLine(s)).not.toMatch(/npm|tsc/);
    }
    // the commands name the compiled entry points of apps/api and apps/projector (dist/ mirrors the sources)
    expect(commandLine(model.services.api!)).toBe(`node ${NODE_FLAGS.join(' ')} dist/apps/api/src/main.js`);
    expect(commandLine(model.services.projector!)).toBe('node dist/apps/projector/src/main.js');
    expect(
      existsSync(join(ROOT, 'apps/api/src/main.ts')) && existsSync(join(ROOT, 'apps/projector/src/main.ts')),
    ).toBe(true);
  });

  it('KurrentDB, MongoDB and the API keep their data in declared named volumes; nothing is bind-mounted', () => {
    const declared = Object.keys(model.volumes ?? {});
    for (const [name, s] of Object.entries(model.services)) {
      for (const m of mounts(s)) {
        expect({ name, ...m }).toEqual({ name, ...m, type: 'volume' });
        expect(declared).toContain(m.source);
      }
    }
    const volumeAt = (service: string, target: string) =>
      mounts(model.services[service]!).find((m) => m.target === target)?.source;
    expect(volumeAt('eventstore', '/var/lib/kurrentdb')).toEqual(expect.any(String));
    expect(volumeAt('mongo', '/data/db')).toEqual(expect.any(String));
    expect(volumeAt('api', env(model.services.api!).ROLLCALL_DATA_DIR ?? '/app/data')).toEqual(
      expect.any(String),
    );
  });

  it('KurrentDB is 25.1 or later (MultiStreamAppend) and accepts appends above the contract suite’s 1 MiB event', () => {
    const es = model.services.eventstore!;
    const [major, minor] = (/:(\d+)\.(\d+)/.exec(es.image ?? '') ?? []).slice(1).map(Number);
    expect(major! * 100 + minor!).toBeGreaterThanOrEqual(2501);
    const max = Number(env(es).KURRENTDB_MAX_APPEND_SIZE);
    // the whole append request: a 1 MiB payload plus its envelope must fit; the server refuses more than 16 MiB
    expect(max).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    expect(max).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(healthTest(es.healthcheck).join(' ')).toMatch(/http:\/\/localhost:2113\/health\/live/);
  });

  it('the apps reach the stores by service name; their healthchecks probe the ports they listen on', () => {
    for (const app of ['api', 'projector']) {
      const e = env(model.services[app]!);
      expect(e.EVENTSTORE_URL).toMatch(/^kurrentdb:\/\/eventstore:2113\b/);
      expect(e.MONGO_URL).toMatch(/^mongodb:\/\/mongo:27017\/rollcall\b/);
    }
    expect(env(model.services.api!).ROLLCALL_PROJECTOR).toBe('external');
    const probe = (app: string) =>
      /http:\/\/127\.0\.0\.1:(\d+)\/health/.exec(healthTest(model.services[app]!.healthcheck).join(' '))?.[1];
    expect(probe('api')).toBe(env(model.services.api!).PORT ?? '3000');
    expect(probe('projector')).toBe(env(model.services.projector!).PROJECTOR_PORT ?? '9464');
  });

  it('the projector publishes no host port, so that it can run as several replicas (`--scale projector=N`)', () => {
    const projector = model.services.projector!;
    // a fixed published port (9464:9464) lets only one container bind it; the port is reachable on the compose network
    expect(projector.ports ?? []).toEqual([]);
    expect((projector.expose ?? []).map(String)).toContain(env(projector).PROJECTOR_PORT ?? '9464');
  });

  describe('the MongoDB healthcheck (its mongosh script run against stubs of rs and db)', () => {
    const script = () => {
      const test = healthTest(model.services.mongo!.healthcheck);
      expect(test.slice(0, 2)).toEqual(['CMD', 'mongosh']);
      return test[test.indexOf('--eval') + 1]!;
    };
    class Quit extends Error {
      constructor(readonly code: number) {
        super(`quit(${code})`);
      }
    }
    /** exit code of mongosh: 0, quit(n), or 1 for an uncaught error */
    const run = (rs: { status(): unknown; initiate(config: unknown): unknown }, primary: boolean) => {
      const context = createContext({
        rs,
        db: { hello: () => ({ isWritablePrimary: primary }) },
        quit: (code = 0) => {
          throw new Quit(code);
        },
      });
      try {
        new Script(script()).runInContext(context);
        return 0;
      } catch (e) {
        return e instanceof Quit ? e.code : 1;
      }
    };
    const notInitialized = () => {
      throw Object.assign(new Error('no replset config has been received'), {
        codeName: 'NotYetInitialized',
      });
    };

    it('initiates rs0 once, with the member host that every container resolves (mongo:27017), and fails until primary', () => {
      const initiate = jest.fn();
      expect(run({ status: notInitialized, initiate }, false)).toBe(1);
      expect(initiate).toHaveBeenCalledTimes(1);
      expect(initiate.mock.calls[0]![0]).toEqual({ _id: 'rs0', members: [{ _id: 0, host: 'mongo:27017' }] });
      expect(model.services.mongo!.command).toEqual(expect.arrayContaining(['--replSet', 'rs0']));
    });

    it('fails while the initiated node is not yet a writable primary, passes once it is', () => {
      const initiate = jest.fn();
      expect(run({ status: () => ({ ok: 1 }), initiate }, false)).toBe(1);
      expect(run({ status: () => ({ ok: 1 }), initiate }, true)).toBe(0);
      expect(initiate).not.toHaveBeenCalled();
    });

    it('fails on any other error (server unreachable) without initiating', () => {
      const initiate = jest.fn();
      const unreachable = () => {
        throw Object.assign(new Error('connect ECONNREFUSED'), { codeName: undefined });
      };
      expect(run({ status: unreachable, initiate }, true)).toBe(1);
      expect(initiate).not.toHaveBeenCalled();
    });
  });
});

/** The Dockerfile as instructions: continuation lines joined, comments dropped. */
const instructions = () =>
  readFileSync(DOCKERFILE, 'utf8')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => ({ op: l.split(/\s+/)[0]!.toUpperCase(), args: l.slice(l.split(/\s+/)[0]!.length).trim() }));

describe(`Dockerfile (${dockerfileLinter ? `linted by ${dockerfileLinter.name}` : 'dockerfile-utils not installed: structural checks only'})`, () => {
  if (dockerfileLinter) {
    it(`passes \`${dockerfileLinter.name} lint\``, () => {
      const r = spawnSync(dockerfileLinter.path, ['lint', DOCKERFILE], { encoding: 'utf8', timeout: 30_000 });
      if (r.status !== 0)
        throw new Error(`dockerfile-utils lint (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
    });
  }

  it('builds in one stage (npm ci, build, prune of the devDependencies) and runs from a second one as a non-root user', () => {
    const all = instructions();
    const froms = all.map((i, n) => ({ ...i, n })).filter((i) => i.op === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f.args).toMatch(/^node:\S*bookworm-slim\b/);
    const build = all.slice(froms[0]!.n, froms[1]!.n);
    const runtime = all.slice(froms[froms.length - 1]!.n);
    const runs = build
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join(' && ');
    expect(runs).toMatch(/npm ci\b/);
    expect(runs).toMatch(/npm run build\b/);
    expect(runs).toMatch(/npm prune --omit=dev\b/);
    expect(runs.indexOf('npm ci')).toBeLessThan(runs.indexOf('npm run build'));
    expect(runs.indexOf('npm run build')).toBeLessThan(runs.indexOf('npm prune'));
    // the runtime stage takes node_modules and dist from the build stage, never from the build context
    for (const copy of runtime.filter((i) => i.op === 'COPY' && /node_modules|dist/.test(i.args)))
      expect(copy.args).toMatch(/--from=/);
    const users = runtime.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime.some((i) => i.op === 'HEALTHCHECK' && /\/health\b/.test(i.args))).toBe(true);
    expect(runtime.find((i) => i.op === 'CMD')?.args).toBe(JSON.stringify(['node', ...NODE_FLAGS, 'dist/apps/api/src/main.js']).replaceAll(',', ', '));
  });

  it('copies only what exists, and .dockerignore keeps the host’s node_modules and outputs out of the context', () => {
    for (const copy of instructions().filter((i) => i.op === 'COPY' && !i.args.includes('--from='))) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources)
        expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({ source, exists: true });
    }
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', 'dist', 'data']));
    for (const needed of [
      'package.json',
      'package-lock.json',
      'apps',
      'libs',
      'tsconfig.base.json',
      'tsconfig.build.json',
    ])
      expect(ignored).not.toContain(needed);
  });
});
