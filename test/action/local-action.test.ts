/**
 * `@github/local-action`, the standard local runner for JavaScript actions,
 * runs the action's source: it imports src/action/main.ts, stubs
 * @actions/core, and calls the exported run(). Here for a pull_request plan
 * against the emulators and the loopback fake GitHub.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ALL_SECRETS,
  pullRequestPayload,
  startActionWorld,
  withoutMaskCommands,
  type ActionWorld,
} from '../helpers/action-runner.ts';

let world: ActionWorld;
beforeEach(async () => {
  world = await startActionWorld();
});
afterEach(async () => {
  await world.close();
});

describe('@github/local-action', () => {
  it('runs a pull_request plan through the exported run()', { timeout: 120_000 }, async () => {
    const sha = '5'.repeat(40);
    const r = await world.runAction({
      localAction: true,
      eventName: 'pull_request',
      inputs: { command: 'plan' },
      payload: pullRequestPayload({
        number: 7,
        headSha: sha,
        repository: world.github.repository,
        baseSha: world.baseSha,
      }),
      sha: 'e'.repeat(40),
      ref: 'refs/pull/7/merge',
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('Plan: 8 to create, 0 to update, 0 to delete; 0 unchanged.');
    // local-action prints the outputs the action set.
    expect(r.stdout).toMatch(/Action Outputs[\s\S]*fingerprint/);
    const comments = world.github.comments.filter((c) => c.body.includes('<!-- connops:plan '));
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain(`sha=${sha}`);
    expect(world.kazoo.requestCount()).toBeGreaterThan(0);
    const visible = withoutMaskCommands(r.stdout) + r.stderr;
    for (const s of ALL_SECRETS) expect(visible).not.toContain(s);
  });
});
