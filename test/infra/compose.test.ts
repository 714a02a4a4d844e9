/**
 * No Docker engine runs on the test machines, so the compose stack is checked statically: services, ports,
 * dependencies, profiles, our search attributes, and that the image builds and runs the worker as
 * `npm run worker` does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTE_LIST } from '../helpers/temporal';
import { WORKER_ENV, WORKER_NODE_ARGS, workerEnvPrefix } from '../../scripts/worker-process';

const root = path.resolve(__dirname, '../..');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string } | string;
  command?: string[] | string;
  entrypoint?: string[];
  ports?: string[];
  profiles?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
}

// Compose resolves YAML merge keys (`<<: *app`); so must we.
const compose = parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');

const dependsOn = (s: Service): Record<string, string> =>
  Array.isArray(s.depends_on)
    ? Object.fromEntries(s.depends_on.map((n) => [n, 'service_started']))
    : Object.fromEntries(Object.entries(s.depends_on ?? {}).map(([n, d]) => [n, d.condition]));

/** `npm run <script> [-- args]` → script name */
function npmScript(command: string[]): string {
  expect(command.slice(0, 2)).toEqual(['npm', 'run']);
  return command[2]!;
}

describe('docker-compose.yml', () => {
  test('has the expected services, the demo ones only in the demo profile', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['emulator-eu', 'emulator-us', 'postgresql', 'snapshots', 'temporal', 'temporal-setup', 'temporal-ui', 'worker'].sort()
    );
    for (const [name, s] of Object.entries(services)) {
      if (name.startsWith('emulator-')) expect(s.profiles).toEqual(['demo']);
      else expect(s.profiles).toBeUndefined();
    }
  });

  test('Temporal runs on PostgreSQL and publishes gRPC 7233; the UI is on 8080', () => {
    expect(services.postgresql!.image).toMatch(/^postgres:/);
    expect(services.temporal!.image).toMatch(/^temporalio\/auto-setup:/);
    expect(services.temporal!.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
    expect(dependsOn(services.temporal!)).toEqual({ postgresql: 'service_healthy' });
    expect(services.temporal!.ports).toEqual(['7233:7233']);
    expect(services.temporal!.healthcheck?.test).toBeDefined();
    expect(services['temporal-ui']!.image).toMatch(/^temporalio\/ui:/);
    expect(services['temporal-ui']!.ports).toEqual(['8080:8080']);
    expect(services['temporal-ui']!.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  test('a set-up service registers our four search attributes as Keyword before the worker starts', () => {
    const setup = services['temporal-setup']!;
    expect(dependsOn(setup)).toEqual({ temporal: 'service_healthy' });
    expect(setup.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(setup.environment?.SEARCH_ATTRIBUTES?.split(/\s+/).sort()).toEqual(SEARCH_ATTRIBUTE_LIST.map((k) => k.name).sort());
    const script = ([] as string[]).concat(setup.command ?? []).join('\n');
    expect(script).toContain('temporal operator search-attribute create');
    expect(script).toContain('--type Keyword');
    // compose interpolates `$x`: every shell variable in the script must be escaped as `$$x`
    expect(script.replace(/\$\$/g, '')).not.toMatch(/\$/);
    expect(dependsOn(services.worker!)).toEqual({ 'temporal-setup': 'service_completed_successfully', snapshots: 'service_started' });
  });

  test("the worker is built from the Dockerfile, runs the image's CMD and talks to temporal:7233", () => {
    const worker = services.worker!;
    expect(worker.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
    expect(worker.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(worker.command).toBeUndefined();
  });

  test('the workers keep their snapshots on the S3 gateway of the compose file, which they reach by its service name', () => {
    const { environment } = services.worker!;
    const snapshots = services.snapshots!;
    expect(snapshots.image).toMatch(/^versity\/versitygw:v1\.8\.0$/);
    const gateway = (snapshots.command as string[]).join(' ');
    expect(gateway).toContain('--port :7070 posix /data');
    expect(gateway).toContain('mkdir -p /data/snapshots');
    expect(environment?.STACK_MIGRATE_SNAPSHOT_ROOT).toMatch(/^s3:\/\/snapshots\//);
    expect(environment?.AWS_ENDPOINT_URL_S3).toBe('http://snapshots:7070');
    expect(environment?.AWS_ACCESS_KEY_ID).toBe(snapshots.environment?.ROOT_ACCESS_KEY);
    expect(environment?.AWS_SECRET_ACCESS_KEY).toBe(snapshots.environment?.ROOT_SECRET_KEY);
  });

  test('the demo profile runs the US source stack on 9101 and the EU destination on 9201 with their seeds, files on the emulator\'s own store', () => {
    const expected = {
      'emulator-us': { port: '9101', data: '/data/us', seed: 'emulator/seeds/source-us.json' },
      'emulator-eu': { port: '9201', data: '/data/eu', seed: 'emulator/seeds/destination-eu.json' },
    };
    for (const [name, e] of Object.entries(expected)) {
      const s = services[name]!;
      expect(s.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
      // The image has no versitygw binary for an AWS stack's per-file users (docker-compose.yml says so).
      expect(s.command).toEqual(['npm', 'run', 'emulator', '--', '--port', e.port, '--data', e.data, '--seed', e.seed, '--file-provider', 'gcp']);
      expect(pkg.scripts[npmScript(s.command as string[])]).toBeDefined();
      expect(s.ports).toEqual([`${e.port}:${e.port}`]);
      expect(s.volumes?.some((v) => v.endsWith(`:${e.data}`))).toBe(true);
    }
  });

  test('every named volume is declared', () => {
    for (const s of Object.values(services)) {
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0]!;
        if (!source.startsWith('.') && !source.startsWith('/')) expect(compose.volumes).toHaveProperty(source);
      }
    }
  });
});

describe('Dockerfile', () => {
  test('a build stage compiles the worker and CMD runs it as `npm run worker` does, without the build step', () => {
    expect(dockerfile).toMatch(/^FROM \S+ AS build$/m);
    expect(dockerfile).toMatch(/^RUN npm run build:worker$/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(dockerfile);
    expect(cmd).not.toBeNull();
    expect(JSON.parse(cmd![1]!)).toEqual(['node', ...WORKER_NODE_ARGS]);
    for (const [name, value] of Object.entries(WORKER_ENV)) expect(dockerfile).toMatch(new RegExp(`^ENV ${name}=${value}$`, 'm'));
    expect(pkg.scripts.worker).toBe(`npm run build:worker && ${workerEnvPrefix()} node ${WORKER_NODE_ARGS.join(' ')}`);
    expect(pkg.scripts['build:worker']).toBe('tsc -p tsconfig.build.json');
  });

  test('installs from the lockfile on a glibc Node 20 image', () => {
    expect(dockerfile).toMatch(/^FROM node:20[^\s]*-(bookworm|bullseye)/m);
    expect(dockerfile).toMatch(/COPY package\.json package-lock\.json/);
    // npm install, not npm ci: see .ci/run (the registry serves only the Linux builds of optional native packages).
    expect(dockerfile).toMatch(/npm install --omit=dev/);
  });

  test('.dockerignore keeps local state and node_modules out of the image', () => {
    const ignored = fs.readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.tools', '.data', '.git']));
  });
});
