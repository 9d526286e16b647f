import { spawn } from 'node:child_process';

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The audit CLI (`npm run audit`) as a process, without blocking this one (the API answering it may run here). */
export const auditCli = (args: string[], env: Record<string, string> = {}): Promise<CliRun> => runScript('apps/audit-cli/src/main.ts', args, env);

/** One of the repository's TypeScript entry points (`script`, from its root) as a process, as its npm script runs it. */
export function runScript(script: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-experimental-strip-types', '-r', './tools/register.cjs', script, ...args], {
      env: { ...process.env, CI: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
