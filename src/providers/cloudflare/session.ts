/**
 * A session against one Cloudflare target: list/get/create/update/delete of
 * connectivity directory services (reference/cloudflare-api.md §1, §3, §10).
 *
 * - list pages with per_page=1000 until a page comes back short or empty (§3, §7 sweeper, §8 SDK);
 * - create is POST, which is not idempotent: it is never repeated blindly; after
 *   a lost answer or a 5xx we list and look for the name before reporting (§10);
 * - update is PUT of the complete body; the PUT's own answer is compared with
 *   what was sent, because PUT semantics for omitted fields are unknown (§3,
 *   §12.1). The one read-back GET per write is apply's (engine/apply.ts
 *   verifyApplied), so a PUT costs two requests, not three;
 * - delete treats 404 as already gone (§5, §10).
 */
import { ApiError, HttpError } from '../../core/errors.ts';
import { canonicalJson, isObject, type JsonObject, type JsonValue } from '../../core/json.ts';
import type { TargetConfig } from '../../core/model.ts';
import type { HttpResponse } from '../../io/http-types.ts';
import type { LiveObject, LiveRef, ProviderSession, WriteRequest } from '../types.ts';
import { CloudflareClient, type CloudflareClientOptions, type CloudflareDeps } from './client.ts';
import { normalizeService } from './normalize.ts';

export const KIND = 'cloudflare/connectivity-service';
/** The largest page the API serves (§3 SPEC: per_page max 1000). */
export const PAGE_SIZE = 1000;
/** A safety stop for a server that never returns a short page (10 million services). */
const MAX_PAGES = 10_000;

function servicesPath(account: string, id?: string): string {
  const base = `/accounts/${encodeURIComponent(account)}/connectivity/directory/services`;
  return id === undefined ? base : `${base}/${encodeURIComponent(id)}`;
}

function shortId(account: string): string {
  return account.length > 12 ? `${account.slice(0, 8)}…` : account;
}

function nameOfBody(body: JsonObject | null | undefined): string | undefined {
  const n = body?.['name'];
  return typeof n === 'string' ? n : undefined;
}

/** Builds a LiveObject from one `result` item; `updated_at` serves as the revision (it moves on every PUT, §11). */
function toLive(value: JsonValue | undefined, what: string): LiveObject {
  if (!isObject(value) || typeof value['service_id'] !== 'string') {
    throw new ApiError('API', `${what}: the answer has no service object with a service_id`, {
      status: 200,
      apiMessage: 'missing result.service_id',
    });
  }
  const updated = value['updated_at'];
  return {
    id: value['service_id'],
    ...(typeof updated === 'string' ? { revision: updated } : {}),
    body: value,
  };
}

/** The top-level keys whose normalised values differ (names only: the body holds no secrets, but stay terse). */
function differingKeys(a: JsonObject, b: JsonObject): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => canonicalJson(a[k]) !== canonicalJson(b[k])).sort();
}

/**
 * Opens a session on one Cloudflare target.
 *
 * @param target the target (base URL defaults to https://api.cloudflare.com/client/v4)
 * @param deps injected HTTP dependencies, plus the run's secrets for redaction
 * @param options client-side budget and clock (tests)
 */
export function createCloudflareSession(
  target: TargetConfig,
  deps: CloudflareDeps,
  options: CloudflareClientOptions = {},
): ProviderSession & { readonly client: CloudflareClient } {
  const client = new CloudflareClient(target, deps, options);
  const label = (name: string | undefined): string =>
    name !== undefined ? `${KIND} "${name}"` : KIND;

  async function list(account: string, signal?: AbortSignal): Promise<LiveObject[]> {
    const out: LiveObject[] = [];
    const action = `Cannot list ${KIND} in account ${shortId(account)} on target "${target.name}"`;
    for (let page = 1; page <= MAX_PAGES; page++) {
      const res = await client.request({
        method: 'GET',
        path: `${servicesPath(account)}?per_page=${PAGE_SIZE}&page=${page}`,
        idempotent: true,
        ...(signal ? { signal } : {}),
      });
      const env = client.ok(res);
      if (!env) throw client.fail(action, res, { account });
      // A missing or non-list result is an answer we do not understand, not an empty account:
      // reading it as empty would plan every service as a create.
      if (!Array.isArray(env.result)) {
        throw new ApiError('API', `${action}: the answer has no list of services (result)`, {
          status: res.status,
          apiMessage: 'result is not an array',
        });
      }
      const items = env.result;
      for (const item of items) out.push(toLive(item, action));
      const totalPages = env.resultInfo?.['total_pages'];
      // Stop on a short or empty page (what the SDKs and the terraform sweeper do, §7/§8),
      // or when result_info says this was the last page.
      if (items.length < PAGE_SIZE || (typeof totalPages === 'number' && page >= totalPages)) break;
    }
    return out;
  }

  async function get(
    account: string,
    id: string,
    signal?: AbortSignal,
  ): Promise<LiveObject | undefined> {
    const res = await client.request({
      method: 'GET',
      path: servicesPath(account, id),
      idempotent: true,
      ...(signal ? { signal } : {}),
    });
    if (res.status === 404) return undefined;
    const action = `Cannot read ${KIND} ${id} in account ${shortId(account)}`;
    const env = client.ok(res);
    if (!env) throw client.fail(action, res, { account });
    return toLive(env.result, action);
  }

  /**
   * After a POST whose outcome is unknown, looks for the service by name. Returns
   * it when it exists and matches what was sent; otherwise rethrows `original`.
   */
  async function recoverCreate(
    account: string,
    body: JsonObject,
    original: Error,
  ): Promise<LiveObject> {
    const name = nameOfBody(body);
    let found: LiveObject[];
    try {
      found = (await list(account)).filter((s) => s.body['name'] === name);
    } catch {
      throw original;
    }
    const [only] = found;
    if (only === undefined || found.length > 1) throw original;
    if (canonicalJson(normalizeService(only.body)) !== canonicalJson(normalizeService(body))) {
      throw new ApiError(
        'CONFLICT',
        client.redact(
          `Cannot create ${label(name)} in account ${shortId(account)}: the create failed (${original.message}) and a service with that name now exists with different settings; re-run plan`,
        ),
        {
          status: original instanceof ApiError ? original.status : 0,
          apiMessage: original.message,
        },
        { cause: original },
      );
    }
    return only;
  }

  async function create(
    account: string,
    body: JsonObject,
    _id?: string | ((generation: number) => string),
  ): Promise<LiveObject & { adopted?: boolean }> {
    // `_id` cannot be honoured: service_id is server-assigned and readOnly (§2).
    const name = nameOfBody(body);
    const action = `Cannot create ${label(name)} in account ${shortId(account)}`;
    let res: HttpResponse;
    try {
      res = await client.request({
        method: 'POST',
        path: servicesPath(account),
        body,
        idempotent: false,
      });
    } catch (err) {
      // No answer: the service may or may not exist now (§10 "never retry blindly").
      if (err instanceof HttpError) return recoverCreate(account, body, err);
      throw err;
    }
    const env = client.ok(res);
    if (env) return toLive(env.result, action);
    const error = client.fail(action, res, { account, ...(name !== undefined ? { name } : {}) });
    if (res.status >= 500) return recoverCreate(account, body, error);
    // 5101: the name is taken (unique per account, reference/cloudflare-api.md §5). When
    // the service holding it is exactly what was sent, another run created this same
    // document a moment ago (two applies at once): adopt it rather than fail.
    if (error.code === 'CONFLICT' && name !== undefined)
      return { ...(await recoverCreate(account, body, error)), adopted: true };
    throw error;
  }

  async function update(
    account: string,
    live: LiveRef,
    request: WriteRequest,
  ): Promise<LiveObject> {
    const name = nameOfBody(request.body) ?? live.name;
    const action = `Cannot update ${label(name)} (${live.id}) in account ${shortId(account)}`;
    if (request.method !== 'PUT' || request.body === null) {
      throw new ApiError(
        'INTERNAL',
        `${action}: Cloudflare services are updated with a full PUT body`,
        {
          status: 0,
          apiMessage: 'unsupported update request',
        },
      );
    }
    const res = await client.request({
      method: 'PUT',
      path: servicesPath(account, live.id),
      body: request.body,
      // A full replacement repeated gives the same state.
      idempotent: true,
    });
    if (res.status === 404) {
      throw new ApiError(
        'API',
        `${action}: it no longer exists (deleted since the plan?); re-run plan`,
        {
          status: 404,
          apiMessage: describeNotFound(res),
        },
      );
    }
    const env = client.ok(res);
    if (!env) throw client.fail(action, res, { account, ...(name !== undefined ? { name } : {}) });

    // PUT semantics for omitted/null fields are unverified (§3, §12.1): when the answer
    // already shows a field the PUT did not change, say which, here. The read-back GET
    // that checks what is stored is apply's verifyApplied, once per write (no second GET
    // here: 1,200 requests per 5 minutes is the budget, §5).
    if (!isObject(env.result) || typeof env.result['service_id'] !== 'string')
      return { id: live.id, body: { ...request.body, service_id: live.id } };
    const after = toLive(env.result, action);
    const want = normalizeService(request.body);
    const got = normalizeService(after.body);
    const diff = differingKeys(want, got);
    if (diff.length > 0) {
      throw new ApiError(
        'API',
        `${action}: the API did not converge: in the PUT's answer, ${diff.map((k) => `"${k}"`).join(', ')} still differ${diff.length === 1 ? 's' : ''} from what was sent`,
        { status: 200, apiMessage: 'did not converge' },
      );
    }
    return after;
  }

  async function remove(account: string, live: LiveRef): Promise<void> {
    const name = live.name;
    const res = await client.request({
      method: 'DELETE',
      path: servicesPath(account, live.id),
      idempotent: true,
    });
    // Already gone counts as success (§5 flarefake, terraform, alchemy).
    if (res.status === 404) return;
    if (!client.ok(res)) {
      throw client.fail(
        `Cannot delete ${label(name)} (${live.id}) in account ${shortId(account)}`,
        res,
        {
          account,
          ...(name !== undefined ? { name } : {}),
        },
      );
    }
  }

  return {
    client,
    list,
    get,
    create,
    update,
    delete: remove,
    close: () => client.close(),
  };
}

function describeNotFound(res: HttpResponse): string {
  const body = res.body;
  if (isObject(body) && Array.isArray(body['errors'])) {
    const first = body['errors'][0];
    if (isObject(first) && typeof first['message'] === 'string') return first['message'];
  }
  return 'not found';
}
