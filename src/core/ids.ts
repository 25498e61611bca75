/**
 * Deterministic ids for creates (INVARIANTS.md item 6). A Kazoo create may
 * choose its document's id (`data.id`, honoured by `cb_context:passed/1`,
 * kazoo `applications/crossbar/src/cb_context.erl@dcf86cbc:1017-1025`), and a
 * second create with the same id is refused with 409 `datastore_conflict`
 * (`crossbar_doc.erl@dcf86cbc:760-762`). So every connops run that creates
 * the same document sends the same id, and the second one meets the first
 * instead of making a duplicate. Kazoo keeps soft-deleted documents
 * (`crossbar_doc.erl@dcf86cbc:569-575`), so an id once used stays taken: the id
 * also depends on a generation number, and creators walk 0, 1, 2, … in order
 * and so meet on the same one. Pure.
 */
import { createHash } from 'node:crypto';
import type { DocumentKey } from './model.ts';

/** How many generations a create tries before giving up (each one a deleted earlier copy). */
export const MAX_GENERATIONS = 32;

/** The id of generation `generation` of a document: 32 lowercase hex characters (reference/kazoo-api.md §1.4). */
export function derivedId(key: DocumentKey, generation: number): string {
  return createHash('sha256')
    .update(
      ['connops-id-v1', key.target, key.account, key.kind, key.name, String(generation)].join('\0'),
    )
    .digest('hex')
    .slice(0, 32);
}
