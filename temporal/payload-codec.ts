// Encrypts every payload (workflow inputs, results, signals, queries, heartbeats) with AES-256-GCM before it
// reaches the Temporal server, so migration plans, reports and ID maps are encrypted at rest (docs/architecture.md#secrets).
// Tokens never enter payloads in the first place; this protects everything else.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

const ENCODING = 'binary/encrypted';
const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the payload encryption key must be 32 bytes (base64 of 32 random bytes)');
    // A short, non-secret fingerprint, so a payload says which key it needs.
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, this.key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCODING), 'encryption-key-id': Buffer.from(this.keyId) },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (Buffer.from(payload.metadata?.[METADATA_ENCODING_KEY] ?? []).toString() !== ENCODING) return payload;
      const keyId = Buffer.from(payload.metadata?.['encryption-key-id'] ?? []).toString();
      if (keyId !== this.keyId) {
        throw new Error(`a payload was encrypted with key ${keyId}, but this process has key ${this.keyId}: give the worker and the CLI the same STACK_MIGRATE_CODEC_KEY`);
      }
      const data = Buffer.from(payload.data ?? []);
      const decipher = createDecipheriv(ALGORITHM, this.key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    });
  }
}

/** The project's folder, the nearest one up with a package.json: the same from temporal/ as from dist/temporal/. */
function projectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '..');
  }
}

/** A compiled worker (dist/) and a CLI run from the sources share this file, and so the key. */
export const DEFAULT_KEY_FILE = path.join(projectRoot(__dirname), '.data', 'codec.key');

/**
 * The codec key: `STACK_MIGRATE_CODEC_KEY` (base64), else the key file (created with mode 0600 on first use, so
 * a worker and a CLI on one machine agree without set-up). Workers on several hosts must share the variable.
 */
export async function loadCodecKey(env: NodeJS.ProcessEnv = process.env, keyFile = env.STACK_MIGRATE_CODEC_KEY_FILE ?? DEFAULT_KEY_FILE): Promise<Buffer> {
  const fromEnv = env.STACK_MIGRATE_CODEC_KEY?.trim();
  if (fromEnv) {
    const key = Buffer.from(fromEnv, 'base64');
    if (key.length !== 32) throw new Error('STACK_MIGRATE_CODEC_KEY must be base64 of 32 bytes: create one with `openssl rand -base64 32`');
    return key;
  }
  try {
    return Buffer.from((await fs.readFile(keyFile, 'utf8')).trim(), 'base64');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const key = randomBytes(32);
    await fs.mkdir(path.dirname(keyFile), { recursive: true });
    await fs.writeFile(keyFile, key.toString('base64'), { mode: 0o600, flag: 'wx' }).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e; // another process created it first: use theirs
    });
    return Buffer.from((await fs.readFile(keyFile, 'utf8')).trim(), 'base64');
  }
}

export async function createDataConverter(env: NodeJS.ProcessEnv = process.env) {
  return { payloadCodecs: [new AesGcmPayloadCodec(await loadCodecKey(env))] };
}
