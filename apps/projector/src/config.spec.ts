import { loadConfig } from '../../api/src/config';
import { projectorConfig } from './config';

/** the problems the projector finds in an environment */
const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  const problems: string[] = [];
  projectorConfig(env, problems);
  return problems;
};

describe("the projector's configuration", () => {
  it('takes the store URLs the API takes (trimmed; unset or blank: the embedded stores)', () => {
    const problems: string[] = [];
    const config = projectorConfig(
      { EVENTSTORE_URL: ' kurrentdb+discover://a,b:2113?tls=false ', MONGO_URL: 'mongodb+srv://cluster.example/rollcall' },
      problems,
    );
    expect(problems).toEqual([]);
    expect(config).toMatchObject({ eventstoreUrl: 'kurrentdb+discover://a,b:2113?tls=false', mongoUrl: 'mongodb+srv://cluster.example/rollcall' });
    expect(projectorConfig({ EVENTSTORE_URL: ' ', MONGO_URL: '' }, problems)).toMatchObject({ eventstoreUrl: undefined, mongoUrl: undefined });
    expect(problems).toEqual([]);
  });

  it('reads PROJECTOR_PORT as the API reads its numbers: decimal digits; empty is the default; blanks only or 0x10 refused (probe 32 F6)', () => {
    const problems: string[] = [];
    expect(projectorConfig({}, problems).port).toBe(9464);
    expect(projectorConfig({ PROJECTOR_PORT: '' }, problems).port).toBe(9464);
    expect(projectorConfig({ PROJECTOR_PORT: ' 9500 ' }, problems).port).toBe(9500);
    expect(problems).toEqual([]);
    for (const bad of ['  ', '0x10', '1e3', '9464.5', '70000']) {
      const refused = problemsOf({ PROJECTOR_PORT: bad });
      expect(refused).toHaveLength(1);
      // word for word the API's sentence for the same value of PORT
      expect(() => loadConfig({ PORT: bad })).toThrow(`\n  - ${refused[0]!.replace('PROJECTOR_PORT', 'PORT').replace('(9464)', '(3000)')}`);
    }
  });

  it.each([
    ['EVENTSTORE_URL', 'http://eventstore:2113'],
    ['EVENTSTORE_URL', 'eventstore:2113 no scheme'],
    ['MONGO_URL', 'postgres://db/rollcall'],
    ['MONGO_URL', 'mongo'],
  ])('refuses %s=%s with the message the API gives', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(name);
    // the same check as the API's, word for word (ConfigError lists each problem on a line of its own)
    expect(() => loadConfig({ [name]: value })).toThrow(`\n  - ${problems[0]}`);
  });
});
