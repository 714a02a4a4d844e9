// Creates what keeps its source ID (tables, configurations) without looking first: on the usual path, an empty
// destination, that is one request less per entity. A stack refuses the create of one that exists already (after a
// retry, on a resume), and only then is it read.
import { StackError } from '../stack';

/**
 * Runs `create`; when the stack refuses it (HTTP 400 or 409, or a create job failed as a conflict) and `find` then
 * finds the entity, answers that one. A refusal for another reason (nothing found) stands.
 */
export async function createOrFind<C, E>(create: () => Promise<C>, find: () => Promise<E | null>): Promise<{ created: C } | { existing: E }> {
  try {
    return { created: await create() };
  } catch (error) {
    if (!(error instanceof StackError) || (error.kind !== 'bad-request' && error.kind !== 'conflict')) throw error;
    const existing = await find();
    if (existing === null) throw error;
    return { existing };
  }
}
