/**
 * The few GitHub REST calls the Action makes, through Octokit with the
 * paginate, retry and throttling plugins (GitHub's own client; see
 * docs/action.md for its cost in the bundle). Every text sent is redacted
 * first, so a secret cannot reach a comment or an issue even by mistake.
 */
import { Octokit } from '@octokit/core';
import { paginateRest } from '@octokit/plugin-paginate-rest';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import type { SecretSet } from '../io/redact.ts';

export interface IssueComment {
  readonly id: number;
  readonly body: string;
  readonly user: { readonly login: string; readonly type: string } | null;
  readonly updated_at?: string;
}

export interface Issue {
  readonly number: number;
  readonly title: string;
  readonly body: string | null;
  readonly state: string;
  readonly pull_request?: unknown;
}

export interface PullSummary {
  readonly number: number;
  readonly merged_at: string | null;
  readonly merge_commit_sha: string | null;
  readonly state: string;
}

export class GitHubApiError extends Error {
  override readonly name = 'GitHubApiError';
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export interface GitHubApi {
  /**
   * The login the token acts as, so only comments it wrote are trusted
   * (INVARIANTS.md 18): GET /user for a user's token; installation tokens
   * (GITHUB_TOKEN, a GitHub App) cannot call it (403 "Resource not accessible by
   * integration"), so GraphQL's `viewer`, and last `github-actions[bot]`, the
   * author of every GITHUB_TOKEN comment. Asked once per run.
   */
  identity(): Promise<string>;
  listIssueComments(issue: number): Promise<IssueComment[]>;
  createIssueComment(issue: number, body: string): Promise<IssueComment>;
  updateIssueComment(id: number, body: string): Promise<IssueComment>;
  /** Pull requests associated with a commit (the merged PR of a merge/squash commit). */
  pullsForCommit(sha: string): Promise<PullSummary[]>;
  listOpenIssues(label: string): Promise<Issue[]>;
  createIssue(title: string, body: string, labels: readonly string[]): Promise<Issue>;
  updateIssue(issue: number, patch: { body?: string; state?: 'open' | 'closed' }): Promise<Issue>;
  close(): Promise<void>;
}

/**
 * Octokit with GitHub's documented handling of limits: plugin-throttling waits
 * out primary and secondary rate limits (Retry-After, x-ratelimit-reset) and
 * retries, plugin-retry retries 5xx with backoff, plugin-paginate-rest follows
 * `Link: rel="next"`.
 */
const ConnopsOctokit = Octokit.plugin(paginateRest, retry, throttling);

/** How often a rate-limited request is tried again before the step fails. */
const RATE_LIMIT_RETRIES = 3;

export function createGitHubApi(options: {
  readonly apiUrl: string;
  readonly repository: string;
  readonly token: string;
  readonly secrets: SecretSet;
  /** Warnings from the client (rate limits waited out), secrets masked. */
  readonly onWarning?: (message: string) => void;
  /** Base of plugin-retry's backoff (retryCount² × this, in ms); tests make it small. */
  readonly retryBaseMs?: number;
}): GitHubApi {
  const [owner = '', repo = ''] = options.repository.split('/');
  const warn = (m: string): void => options.onWarning?.(options.secrets.redact(m));
  const octokit = new ConnopsOctokit({
    auth: options.token,
    baseUrl: options.apiUrl.replace(/\/+$/, ''),
    userAgent: 'connops-action',
    log: { debug: () => {}, info: () => {}, warn, error: warn },
    retry: { retryAfterBaseValue: options.retryBaseMs ?? 1000 },
    throttle: {
      onRateLimit: (after: number, o: { method: string; url: string }, _k: unknown, n: number) => {
        warn(`GitHub rate limit on ${o.method} ${o.url}; retrying in ${after} s`);
        return n < RATE_LIMIT_RETRIES;
      },
      onSecondaryRateLimit: (
        after: number,
        o: { method: string; url: string },
        _k: unknown,
        n: number,
      ) => {
        warn(`GitHub secondary rate limit on ${o.method} ${o.url}; retrying in ${after} s`);
        return n < RATE_LIMIT_RETRIES;
      },
    },
  });

  /** One request; every string sent is redacted first; errors become GitHubApiError. */
  async function call<T>(
    route: string,
    params: Record<string, unknown> = {},
    once = false,
  ): Promise<T> {
    const [method = 'GET', path = ''] = route.split(' ');
    try {
      const res = await octokit.request(route, {
        owner,
        repo,
        ...(redactStrings(params, options.secrets) as Record<string, unknown>),
        headers: { 'x-github-api-version': '2022-11-28' },
        // A POST that creates something is not repeated after an unclear 5xx: it could post twice.
        ...(once ? { request: { retries: 0 } } : {}),
      });
      return res.data as T;
    } catch (err) {
      throw toApiError(err, method, path);
    }
  }

  async function all<T>(route: string, params: Record<string, unknown>): Promise<T[]> {
    const [method = 'GET', path = ''] = route.split(' ');
    try {
      return (await octokit.paginate(route, {
        owner,
        repo,
        per_page: 100,
        ...params,
        headers: { 'x-github-api-version': '2022-11-28' },
      })) as T[];
    } catch (err) {
      throw toApiError(err, method, path);
    }
  }

  let identity: Promise<string> | undefined;
  async function whoAmI(): Promise<string> {
    try {
      const user = await call<{ login?: unknown }>('GET /user');
      if (typeof user.login === 'string' && user.login !== '') return user.login;
    } catch (err) {
      if (!(err instanceof GitHubApiError) || ![401, 403, 404].includes(err.status)) throw err;
    }
    try {
      // octokit.graphql knows GitHub Enterprise Server's /api/graphql beside /api/v3.
      const res = await octokit.graphql<{ viewer?: { login?: unknown } }>(
        'query { viewer { login } }',
      );
      const login = res.viewer?.login;
      // An app's viewer login is its slug; its comments are authored by "<slug>[bot]".
      if (typeof login === 'string' && login !== '')
        return login.endsWith('[bot]') ? login : `${login}[bot]`;
    } catch {
      // fall through: GITHUB_TOKEN's comments are github-actions[bot]'s
    }
    return 'github-actions[bot]';
  }

  return {
    identity: () => (identity ??= whoAmI()),
    listIssueComments: (issue) =>
      all<IssueComment>('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        issue_number: issue,
      }),
    createIssueComment: (issue, body) =>
      call<IssueComment>(
        'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
        { issue_number: issue, body },
        true,
      ),
    updateIssueComment: (id, body) =>
      call<IssueComment>('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
        comment_id: id,
        body,
      }),
    pullsForCommit: (sha) =>
      all<PullSummary>('GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls', {
        commit_sha: sha,
      }),
    async listOpenIssues(label) {
      const list = await all<Issue>('GET /repos/{owner}/{repo}/issues', {
        state: 'open',
        labels: label,
      });
      // The issues endpoint lists pull requests too.
      return list.filter((i) => i.pull_request === undefined);
    },
    createIssue: (title, body, labels) =>
      call<Issue>('POST /repos/{owner}/{repo}/issues', { title, body, labels: [...labels] }, true),
    updateIssue: (issue, patch) =>
      call<Issue>('PATCH /repos/{owner}/{repo}/issues/{issue_number}', {
        issue_number: issue,
        ...patch,
        ...(patch.state === 'closed' ? { state_reason: 'completed' } : {}),
      }),
    close: async () => {},
  };
}

function toApiError(err: unknown, method: string, path: string): unknown {
  const e = err as { status?: unknown; message?: unknown; response?: { data?: unknown } };
  if (typeof e?.status !== 'number') return err;
  const data = e.response?.data as { message?: unknown } | undefined;
  const message = typeof data?.message === 'string' ? data.message : undefined;
  return new GitHubApiError(
    e.status,
    method,
    path,
    `GitHub API ${method} ${path} failed: HTTP ${e.status}${message ? ` (${message})` : ''}${e.status === 403 || e.status === 404 ? hint(method) : ''}`,
  );
}

function hint(method: string): string {
  return method === 'GET'
    ? ''
    : '; the workflow needs `permissions: pull-requests: write` (PR comments) or `issues: write` (drift issues), and fork PRs only get a read-only token';
}

/** The `rel="next"` URL of a Link header (RFC 8288, as GitHub writes it). */
export function nextLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
    if (m && m[2]?.split(/\s+/).includes('next')) return m[1];
  }
  return undefined;
}

function redactStrings(value: unknown, secrets: SecretSet): unknown {
  if (typeof value === 'string') return secrets.redact(value);
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, secrets));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, redactStrings(v, secrets)]),
    );
  return value;
}
