/**
 * The bundled Action under Node 24, the runtime action.yml declares. It runs
 * when a Node 24 binary is available (CONNOPS_NODE24, or the one
 * `node scripts/test-node24.mjs --fetch-only` puts in node_modules/.cache, which
 * .ci/run does) and is reported as skipped otherwise.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ALL_SECRETS,
  pullRequestPayload,
  startActionWorld,
  withoutMaskCommands,
  type ActionWorld,
} from '../helpers/action-runner.ts';
import { findNode24 } from '../helpers/node24.ts';

const node24 = findNode24();
let world: ActionWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('dist/action.js on Node 24', () => {
  it.runIf(node24 !== undefined)('plans a pull request and posts the comment', async () => {
    world = await startActionWorld();
    const r = await world.runAction({
      eventName: 'pull_request',
      inputs: { command: 'plan' },
      payload: pullRequestPayload({
        number: 3,
        headSha: '3'.repeat(40),
        repository: world.github.repository,
        baseSha: world.baseSha,
      }),
      node: node24 as string,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).not.toContain('unrecognized flag'); // src/io/heap.ts: a flag Node 24's V8 knows
    expect(r.outputs['has-changes']).toBe('true');
    expect(world.github.comments).toHaveLength(1);
    expect(world.github.comments[0]?.body).toContain(
      '<!-- connops:plan config=infra/connops.yaml fingerprint=',
    );
    for (const s of ALL_SECRETS) expect(withoutMaskCommands(r.stdout) + r.summary).not.toContain(s);
  });
});
