/**
 * The X-Ray SDK's mode is decided once, when it loads: a fresh Node process per case shows what
 * loading the Powertools clients (shared/clients/powertools.ts) leaves behind.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function namespacesAfterLoading(env: Record<string, string>): {
  namespaces: string[];
  manual: string | null;
} {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      "await import('#shared/clients/powertools.ts'); console.log(JSON.stringify({ namespaces: Object.keys(process.namespaces ?? {}), manual: process.env.AWS_XRAY_MANUAL_MODE ?? null }))",
    ],
    { env: { PATH: process.env.PATH ?? '', POWERTOOLS_LOG_LEVEL: 'SILENT', ...env }, encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}');
}

describe('X-Ray SDK mode', () => {
  it('outside Lambda, loading the tracer installs no cls-hooked namespace (no async hook on every promise)', () => {
    expect(namespacesAfterLoading({})).toEqual({ namespaces: [], manual: '1' });
  });

  it('in a Lambda function, keeps the automatic mode the tracer needs', () => {
    expect(namespacesAfterLoading({ AWS_LAMBDA_FUNCTION_NAME: 'moderate' })).toEqual({
      namespaces: ['AWSXRay'],
      manual: null,
    });
  });

  it('leaves an explicit choice alone', () => {
    expect(namespacesAfterLoading({ AWS_XRAY_MANUAL_MODE: '' }).namespaces).toEqual(['AWSXRay']);
  });
});
