import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { CliIo } from '../../lambdas/compliance/audit-command';
import { readJwkFile, receiptChecker, type ReceiptCheck } from '../../lambdas/compliance/receipts';
import { LocalStore, type ObjectStore } from '../../lambdas/compliance/stores';
import { type Fixture, type FixtureOptions, writeFixture } from './fixtures/generator';

const made: string[] = [];

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'audit-compliance-'));
  made.push(dir);
  return dir;
}

/** Removes every folder tempDir made; call from afterAll. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A small fixture: fast to write and to verify, yet with every record type and outcome. */
export async function smallFixture(options: Partial<FixtureOptions> = {}): Promise<Fixture> {
  return writeFixture(tempDir(), { size: { requests: 60 }, ...options });
}

/** A copy of a fixture to damage, with the fixture's paths moved to the copy. */
export function copyOf(fixture: Fixture): {
  readonly dir: string;
  readonly path: (original: string) => string;
} {
  const dir = tempDir();
  cpSync(fixture.dir, dir, { recursive: true });
  return { dir, path: (original) => join(dir, original.slice(fixture.dir.length)) };
}

export async function localStores(...paths: string[]): Promise<ObjectStore[]> {
  return Promise.all(
    paths.map(async (path) => {
      const store = await LocalStore.at(path);
      if (!store.ok) throw new Error(store.error);
      return store.value;
    }),
  );
}

export async function checkerFor(fixture: Fixture): Promise<ReceiptCheck> {
  const keys = await readJwkFile(fixture.publicKeyFile);
  if (!keys.ok) throw new Error(keys.error);
  return receiptChecker(keys.value);
}

/** A CliIo whose output the test reads back. */
export function capturedIo(): CliIo & { readonly out: () => string; readonly err: () => string } {
  const sink = () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    return { stream, text: () => chunks.join('') };
  };
  const stdout = sink();
  const stderr = sink();
  return {
    stdout: stdout.stream,
    stderr: stderr.stream,
    stderrIsTerminal: false,
    out: stdout.text,
    err: stderr.text,
  };
}
