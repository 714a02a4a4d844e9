// Permanent files (docs/domain.md#restore-order): files a project keeps until deleted, with their tags. A snapshot
// holds them as Keboola's backup does (`permanentFiles.json`, the content at `files/{name}`), and the restore uploads
// each one again as a permanent file with its tags, as Keboola's restore does. Safe to re-run: a permanent file of
// the same name and tags in the destination is not uploaded again.
import type { FileInfo, StackClient } from '../stack';
import { files } from '../snapshot/layout';
import type { SnapshotReader } from '../snapshot/reader';
import type { StackRef } from '../workflows/input';
import type { RestoreOutcome } from '../workflows/types';
import type { ActivityDeps } from './deps';
import { sameJson } from './json';
import { heartbeat } from './heartbeat';

/** A page of the Files API (the most a real stack answers at once). */
const PAGE = 100;

/** Every permanent file of a project, page by page: files kept until deleted have no `maxAgeDays`. */
export async function permanentFilesOf(client: StackClient): Promise<FileInfo[]> {
  const found: FileInfo[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await client.files.list({ limit: PAGE, offset });
    found.push(...page.filter((file) => file.maxAgeDays === null));
    if (page.length < PAGE) return found;
    heartbeat(offset);
  }
}

/**
 * Writes the source's permanent files into the snapshot: their list, and each one's content at `files/{name}`.
 * Names are unique in Keboola's layout: a second file of the same name is listed, and its content not kept.
 */
export async function snapshotPermanentFiles(client: StackClient, snapshot: SnapshotReader): Promise<void> {
  const permanent = await permanentFilesOf(client);
  const kept = new Set<string>();
  for (const file of permanent) {
    if (file.isSliced || kept.has(file.name) || file.name.includes('/')) continue;
    const [url] = await client.files.sliceUrls(file);
    await snapshot.store.write(files.permanentFile(file.name), client.files.openSlice(file, url));
    kept.add(file.name);
    heartbeat(file.name);
  }
  await snapshot.write(
    files.permanentFiles,
    permanent.map((file) => ({ id: file.id, name: file.name, tags: file.tags ?? [], sizeBytes: file.sizeBytes ?? null, isSliced: file.isSliced ?? false })),
  );
}

export function createPermanentFileActivities(deps: ActivityDeps) {
  return {
    async restorePermanentFiles(input: { destination: StackRef; snapshotDir: string }): Promise<RestoreOutcome> {
      const snapshot = deps.snapshot(input.snapshotDir);
      const listed = await snapshot.permanentFiles();
      const outcome: RestoreOutcome = { created: [], existing: [], skipped: [] };
      if (listed.length === 0) return outcome;
      const client = await deps.stackClient(input.destination);
      const present = await permanentFilesOf(client);
      const uploaded = new Set<string>();
      for (const file of listed) {
        const key = files.permanentFile(file.name);
        const tags = [...file.tags].sort();
        const found = present.find((p) => p.name === file.name && sameJson([...(p.tags ?? [])].sort(), tags));
        if (found) {
          outcome.existing.push(String(found.id));
          continue;
        }
        const size = file.name.includes('/') || uploaded.has(file.name) ? undefined : await snapshot.store.size(key);
        if (size === undefined) {
          outcome.skipped.push({ id: file.name, reason: `the snapshot holds no content for it (${key}; a sliced file, or a second file of the same name): upload it again by hand` });
          continue;
        }
        const created = await client.files.upload(file.name, () => snapshot.open(key), { sizeBytes: size, tags: file.tags, isPermanent: true });
        outcome.created.push(String(created.id));
        uploaded.add(file.name);
        heartbeat(file.name);
      }
      deps.metrics?.entitiesMigrated('permanentFiles', outcome.created.length);
      return outcome;
    },
  };
}
