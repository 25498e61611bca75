/**
 * Deterministic sharding by (target, account), so n CI jobs each take a
 * disjoint part of the estate and together cover all of it. Pure.
 */
import { createHash } from 'node:crypto';

/** The 1-based shard (of `count`) that owns a (target, account) pair. */
export function shardOf(target: string, account: string, count: number): number {
  const digest = createHash('sha256').update(`${target}\u0000${account}`).digest();
  return (digest.readUInt32BE(0) % count) + 1;
}
