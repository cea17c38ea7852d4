import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { err, ok, type Result } from '../core/result';

export interface StoredObject {
  /** The object's key: relative to a local root (with `/` separators), or the full S3 key. */
  readonly key: string;
  readonly size: number;
}

/**
 * A folder tree or a bucket prefix, seen as keys. Local paths and `s3://` locations are read by the
 * same code; only listing and opening differ.
 */
export interface ObjectStore {
  /** The location as the user gave it, for messages about the whole store. */
  readonly location: string;
  /** How a key is shown to the user: a path, or an `s3://bucket/key` URL. */
  displayName(key: string): string;
  /** Every object under the location, in key order, without holding the listing in memory. */
  list(): AsyncIterable<StoredObject>;
  /** A byte stream of one object; rejects with a message that says why it cannot be read. */
  open(key: string): Promise<Readable>;
}

export class LocalStore implements ObjectStore {
  private constructor(
    readonly location: string,
    private readonly root: string,
    /** Set when the location is one file rather than a folder. */
    private readonly onlyKey: string | undefined,
  ) {}

  static async at(path: string): Promise<Result<LocalStore, string>> {
    try {
      const info = await stat(path);
      return ok(
        info.isDirectory()
          ? new LocalStore(path, path, undefined)
          : new LocalStore(path, dirname(path), basename(path)),
      );
    } catch (error) {
      return err(
        `${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (error as Error).message}`,
      );
    }
  }

  displayName(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  async *list(): AsyncIterable<StoredObject> {
    if (this.onlyKey !== undefined) {
      yield { key: this.onlyKey, size: (await stat(this.displayName(this.onlyKey))).size };
      return;
    }
    yield* this.walk(this.root);
  }

  private async *walk(folder: string): AsyncIterable<StoredObject> {
    const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    );
    // One folder's sizes at once: a stat per file in turn costs more than reading small files.
    const sizes = await Promise.all(
      entries.map(async (entry) => (entry.isFile() ? (await stat(join(folder, entry.name))).size : 0)),
    );
    for (const [index, entry] of entries.entries()) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) yield* this.walk(path);
      else if (entry.isFile())
        yield { key: relative(this.root, path).split(sep).join('/'), size: sizes[index] };
    }
  }

  /** The object's path, for readers that open it themselves (a worker thread). */
  pathOf(key: string): string {
    return this.displayName(key);
  }

  async open(key: string): Promise<Readable> {
    return openLocalFile(this.displayName(key));
  }
}

/** Why a local file cannot be read, in the words every reader of one uses. */
export const unreadableLocalFile = (error: unknown): string =>
  (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (error as Error).message;

/** A local file as a byte stream; rejects with why it cannot be read. */
export async function openLocalFile(path: string): Promise<Readable> {
  try {
    return (await open(path)).createReadStream();
  } catch (error) {
    throw new Error(unreadableLocalFile(error));
  }
}

// Loaded when an s3:// input is first read: the SDK costs ~20 MiB that a local verification never needs.
const sdk = () => import('@aws-sdk/client-s3');

export class S3Store implements ObjectStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {}

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  displayName(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  async *list(): AsyncIterable<StoredObject> {
    const { ListObjectsV2Command } = await sdk();
    let ContinuationToken: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix || undefined,
          ContinuationToken,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined) yield { key: object.Key, size: object.Size ?? 0 };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async open(key: string): Promise<Readable> {
    const { GetObjectCommand } = await sdk();
    try {
      const { Body } = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!(Body instanceof Readable)) throw new Error('the response has no readable body');
      return Body;
    } catch (error) {
      throw new Error((error as Error).name === 'NoSuchKey' ? 'does not exist' : (error as Error).message);
    }
  }
}

/** Turns a command-line input into a store: `s3://bucket/prefix` or a local file or folder. */
export async function storeFor(
  input: string,
  s3: () => Promise<S3Client>,
): Promise<Result<ObjectStore, string>> {
  if (!input.startsWith('s3://')) return LocalStore.at(input);
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(input);
  if (!match) return err(`${input}: expected s3://bucket/prefix`);
  return ok(new S3Store(await s3(), match[1], match[2]));
}
