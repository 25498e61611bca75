/**
 * The few GitHub REST calls the Action makes, over the project's one undici
 * client (retries, timeouts, bounded bodies). Every text sent is redacted
 * first, so a secret cannot reach a comment or an issue even by mistake.
 */
import { createHttpClient } from '../io/http.ts';
import type { HttpClient, HttpRequest, HttpResponse } from '../io/http-types.ts';
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

/** Stops runaway pagination (100 pages × 100 items is far beyond any PR). */
const MAX_PAGES = 100;

export function createGitHubApi(options: {
  readonly apiUrl: string;
  readonly repository: string;
  readonly token: string;
  readonly secrets: SecretSet;
}): GitHubApi {
  const base = options.apiUrl.replace(/\/+$/, '');
  const http: HttpClient = createHttpClient({
    target: 'GitHub',
    baseUrl: base,
    concurrency: 4,
    timeoutMs: 30_000,
    deps: {},
  });
  const repo = `/repos/${options.repository.split('/').map(encodeURIComponent).join('/')}`;
  const headers = {
    accept: 'application/vnd.github+json',
    authorization: `Bearer ${options.token}`,
    'user-agent': 'connops-action',
    'x-github-api-version': '2022-11-28',
  };

  async function call(req: Omit<HttpRequest, 'headers'>): Promise<HttpResponse> {
    const body = req.body === undefined ? undefined : redactStrings(req.body, options.secrets);
    const res = await http.request({ ...req, headers, ...(body !== undefined ? { body } : {}) });
    if (res.status < 200 || res.status > 299) {
      const message = (res.body as { message?: unknown } | undefined)?.message;
      throw new GitHubApiError(
        res.status,
        req.method,
        req.path,
        `GitHub API ${req.method} ${req.path.split('?')[0]} failed: HTTP ${res.status}${typeof message === 'string' ? ` (${message})` : ''}${res.status === 403 || res.status === 404 ? hint(req.method) : ''}`,
      );
    }
    return res;
  }

  /** GETs every page by following `Link: <…>; rel="next"` while it stays on the API host. */
  async function all<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined = path;
    for (let page = 0; next !== undefined && page < MAX_PAGES; page++) {
      const res = await call({ method: 'GET', path: next, idempotent: true });
      if (!Array.isArray(res.body))
        throw new GitHubApiError(res.status, 'GET', next, `GitHub API GET ${next}: not a list`);
      items.push(...(res.body as T[]));
      const url = nextLink(res.headers['link']);
      // Following a link to another host would hand it the token.
      next = url?.startsWith(`${base}/`) ? url.slice(base.length) : undefined;
    }
    return items;
  }

  let identity: Promise<string> | undefined;
  async function whoAmI(): Promise<string> {
    try {
      const res = await call({ method: 'GET', path: '/user', idempotent: true });
      const login = (res.body as { login?: unknown } | undefined)?.login;
      if (typeof login === 'string' && login !== '') return login;
    } catch (err) {
      if (!(err instanceof GitHubApiError) || ![401, 403, 404].includes(err.status)) throw err;
    }
    try {
      const res = await call({
        method: 'POST',
        path: '/graphql',
        body: { query: 'query { viewer { login } }' },
        idempotent: true,
      });
      const login = (res.body as { data?: { viewer?: { login?: unknown } } } | undefined)?.data
        ?.viewer?.login;
      // An app's viewer login is its slug; its comments are authored by "<slug>[bot]".
      if (typeof login === 'string' && login !== '')
        return login.endsWith('[bot]') ? login : `${login}[bot]`;
    } catch (err) {
      if (!(err instanceof GitHubApiError)) throw err;
    }
    return 'github-actions[bot]';
  }

  return {
    identity: () => (identity ??= whoAmI()),
    listIssueComments: (issue) => all(`${repo}/issues/${issue}/comments?per_page=100`),
    async createIssueComment(issue, body) {
      const res = await call({
        method: 'POST',
        path: `${repo}/issues/${issue}/comments`,
        body: { body },
        idempotent: false,
      });
      return res.body as IssueComment;
    },
    async updateIssueComment(id, body) {
      const res = await call({
        method: 'PATCH',
        path: `${repo}/issues/comments/${id}`,
        body: { body },
        idempotent: true,
      });
      return res.body as IssueComment;
    },
    pullsForCommit: (sha) => all(`${repo}/commits/${encodeURIComponent(sha)}/pulls?per_page=100`),
    async listOpenIssues(label) {
      const list = await all<Issue>(
        `${repo}/issues?state=open&labels=${encodeURIComponent(label)}&per_page=100`,
      );
      // The issues endpoint lists pull requests too.
      return list.filter((i) => i.pull_request === undefined);
    },
    async createIssue(title, body, labels) {
      const res = await call({
        method: 'POST',
        path: `${repo}/issues`,
        body: { title, body, labels },
        idempotent: false,
      });
      return res.body as Issue;
    },
    async updateIssue(issue, patch) {
      const res = await call({
        method: 'PATCH',
        path: `${repo}/issues/${issue}`,
        body: {
          ...patch,
          ...(patch.state === 'closed' ? { state_reason: 'completed' } : {}),
        },
        idempotent: true,
      });
      return res.body as Issue;
    },
    close: () => http.close(),
  };
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
