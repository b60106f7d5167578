import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('toolchain', () => {
  it('runs the tests on Node 24, the Lambda runtime the project targets', () => {
    const major = Number(process.versions.node.split('.')[0]);
    expect(major, `tests ran on Node ${process.versions.node}; npm scripts should put node_modules/.bin/node (24.x) first on PATH`).toBe(24);
  });

  it('pins one Powertools version for every Powertools package', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
    const versions = new Set(Object.entries(pkg.dependencies).filter(([name]) => name.startsWith('@aws-lambda-powertools/')).map(([, v]) => v));
    expect(versions.size).toBe(1);
  });

  it('pins the aws-cdk CLI to a 2.x release, not the `latest` tag', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { devDependencies: Record<string, string> };
    expect(pkg.devDependencies['aws-cdk']).toMatch(/^2\.\d+\.\d+$/);
  });
});
