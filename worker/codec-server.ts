// `npm run codec-server`: the Temporal Web UI's remote codec endpoint, so an operator sees decrypted inputs,
// results and status in the UI (start the UI with `--ui-codec-endpoint http://localhost:8888`). It listens on
// loopback only: it decrypts for whoever can reach it.
import * as http from 'node:http';
import type { Payload } from '@temporalio/common';
import { AesGcmPayloadCodec, loadCodecKey } from '../temporal/payload-codec';

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: p.data ? Buffer.from(p.data, 'base64') : undefined,
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: p.data ? Buffer.from(p.data).toString('base64') : undefined,
});

export function createCodecServer(codec: AesGcmPayloadCodec, allowedOrigin = '*'): http.Server {
  return http.createServer(async (req, res) => {
    res.setHeader('Access-Control-Allow-Origin', allowedOrigin);
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const action = req.url === '/encode' ? 'encode' : req.url === '/decode' ? 'decode' : undefined;
    if (req.method !== 'POST' || !action) return void res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'use POST /encode or POST /decode' }));
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { payloads?: JsonPayload[] };
      const payloads = await codec[action]((body.payloads ?? []).map(fromJson));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ payloads: payloads.map(toJson) }));
    } catch (error) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
    }
  });
}

if (require.main === module) {
  const port = Number(process.env.CODEC_SERVER_PORT ?? 8888);
  loadCodecKey()
    .then((key) => {
      const server = createCodecServer(new AesGcmPayloadCodec(key), process.env.CODEC_SERVER_ALLOWED_ORIGIN ?? 'http://localhost:8233');
      server.listen(port, '127.0.0.1', () => console.log(`codec server on http://127.0.0.1:${port} (POST /encode, /decode)`));
      const stop = () => server.close(() => process.exit(0));
      process.on('SIGINT', stop).on('SIGTERM', stop);
    })
    .catch((error) => {
      console.error(`codec server: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
}
