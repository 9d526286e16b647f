// OpenAPI names a schema after its class: two classes of one name with @ApiProperty became one schema, the second
// overwriting the first, and answers of the other shape failed the document (probe 45 F1, F2: the teams' partner
// `{workspaceId, workspaceName}` documented as the workspaces' `{workspaceId, name}`; a profile change's `emailChange`
// as the user list's pending change). Every documented class's name is unique.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const SOURCE = join(__dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' || entry.name === 'testing' ? [] : sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('spec.ts') ? [path] : [];
  });
}

/** the classes of a file whose bodies carry an @ApiProperty (the ones OpenAPI makes a schema of), by name */
function documentedClasses(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const found: string[] = [];
  const declaration = /^(?:export )?(?:abstract )?class (\w+)[^{]*\{/gm;
  const starts = [...text.matchAll(declaration)];
  starts.forEach((match, i) => {
    const body = text.slice(match.index, starts[i + 1]?.index ?? text.length);
    if (/@Api(Property|PropertyOptional|HideProperty)\(/.test(body)) found.push(match[1]!);
  });
  return found;
}

describe('OpenAPI schema names', () => {
  it('no two documented classes share a name (probe 45 F1, F2)', () => {
    const byName = new Map<string, string[]>();
    for (const path of sources(SOURCE)) for (const name of documentedClasses(path)) byName.set(name, [...(byName.get(name) ?? []), path.slice(SOURCE.length + 1)]);
    const shared = [...byName].filter(([, paths]) => paths.length > 1).map(([name, paths]) => `${name}: ${paths.join(', ')}`);
    expect(byName.size).toBeGreaterThan(50);
    expect(shared).toEqual([]);
  });
});
