/**
 * A loopback fake of the few GitHub REST endpoints the Action uses: issue
 * comments (with Link pagination), commits/{sha}/pulls and issues. It records
 * every request and answers 401 to any request without the expected token.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeComment {
  id: number;
  issue: number;
  body: string;
  user: { login: string; type: string };
  created_at: string;
  updated_at: string;
}

export interface FakeIssue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  labels: string[];
  pull_request?: { url: string };
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: string;
}

export interface FakeGitHub {
  readonly url: string;
  readonly repository: string;
  readonly requests: RecordedRequest[];
  readonly comments: FakeComment[];
  readonly issues: FakeIssue[];
  /** Pull requests returned by GET /commits/{sha}/pulls, by sha. */
  readonly pullsByCommit: Map<
    string,
    { number: number; merged_at: string | null; merge_commit_sha: string | null; state: string }[]
  >;
  /**
   * Answers the next requests matching `method path-prefix` with these
   * statuses (e.g. 502, or 403 as a secondary rate limit with Retry-After: 1)
   * before handling them normally.
   */
  failNext(method: string, pathPrefix: string, statuses: number[]): void;
  /** Adds a comment as someone else (for pagination and marker tests). */
  addComment(issue: number, body: string, user?: { login: string; type: string }): FakeComment;
  /** Requests that change state (anything but GET and the GraphQL identity query). */
  writes(): RecordedRequest[];
  close(): Promise<void>;
}

export async function startFakeGitHub(options: {
  token: string;
  repository?: string;
  pageSize?: number;
  /** Who the token is (default github-actions[bot], as GITHUB_TOKEN): the author of its comments. */
  author?: { login: string; type: string };
}): Promise<FakeGitHub> {
  const repository = options.repository ?? 'acme-corp/telecom';
  const pageSize = options.pageSize ?? 100;
  const requests: RecordedRequest[] = [];
  const comments: FakeComment[] = [];
  const issues: FakeIssue[] = [];
  const pullsByCommit: FakeGitHub['pullsByCommit'] = new Map();
  const faults: { method: string; prefix: string; statuses: number[] }[] = [];
  let nextId = 1000;
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const now = (): string => new Date((clock += 1000)).toISOString();
  const bot = options.author ?? { login: 'github-actions[bot]', type: 'Bot' };
  const identity = {
    user: options.author?.type === 'User' ? options.author : undefined,
    viewer: options.author?.login.replace(/\[bot\]$/, '') ?? 'github-actions',
  };
  let base = '';

  const send = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };

  /** Pages `items` like GitHub: ?per_page & ?page, with a Link header pointing at absolute URLs. */
  const page = <T>(res: ServerResponse, url: URL, items: T[]): void => {
    const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), pageSize);
    const pageNo = Number(url.searchParams.get('page') ?? 1);
    const slice = items.slice((pageNo - 1) * perPage, pageNo * perPage);
    const headers: Record<string, string> = {};
    if (pageNo * perPage < items.length) {
      const next = new URL(url.toString(), base);
      next.searchParams.set('page', String(pageNo + 1));
      headers['link'] =
        `<${base}${next.pathname}${next.search}>; rel="next", <${base}${next.pathname}?page=999>; rel="last"`;
    }
    send(res, 200, slice, headers);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, text: string): void => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const authorization = req.headers['authorization'];
    requests.push({
      method: req.method ?? '',
      path: url.pathname + url.search,
      authorization,
      body: text,
    });
    const fault = faults.find(
      (f) => f.method === req.method && url.pathname.startsWith(f.prefix) && f.statuses.length > 0,
    );
    const status = fault?.statuses.shift();
    if (status === 403)
      // GitHub's secondary rate limit: 403 with Retry-After (docs: "Rate limits for the REST API").
      return send(
        res,
        403,
        {
          message:
            'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        },
        { 'retry-after': '1' },
      );
    if (status !== undefined) return send(res, status, { message: 'Server Error' });
    // GitHub takes both schemes; Octokit sends `token`.
    if (authorization !== `Bearer ${options.token}` && authorization !== `token ${options.token}`)
      return send(res, 401, { message: 'Bad credentials' });
    if (!req.headers['user-agent']) return send(res, 403, { message: 'User-Agent required' });
    // GITHUB_TOKEN is an installation token: GET /user is not for it, GraphQL's viewer is.
    if (url.pathname === '/user' && req.method === 'GET')
      return identity.user
        ? send(res, 200, identity.user)
        : send(res, 403, {
            message: 'Resource not accessible by integration',
            documentation_url:
              'https://docs.github.com/rest/users/users#get-the-authenticated-user',
          });
    if (url.pathname === '/graphql' && req.method === 'POST')
      return send(res, 200, { data: { viewer: { login: identity.viewer } } });
    const prefix = `/repos/${repository}`;
    if (!url.pathname.startsWith(prefix + '/')) return send(res, 404, { message: 'Not Found' });
    const path = url.pathname.slice(prefix.length);
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    let m: RegExpExecArray | null;
    if ((m = /^\/issues\/(\d+)\/comments$/.exec(path))) {
      const issue = Number(m[1]);
      if (req.method === 'GET')
        return page(
          res,
          url,
          comments.filter((c) => c.issue === issue),
        );
      if (req.method === 'POST') {
        const c: FakeComment = {
          id: nextId++,
          issue,
          body: String(body['body']),
          user: bot,
          created_at: now(),
          updated_at: now(),
        };
        comments.push(c);
        return send(res, 201, c);
      }
    }
    if ((m = /^\/issues\/comments\/(\d+)$/.exec(path)) && req.method === 'PATCH') {
      const c = comments.find((x) => x.id === Number(m?.[1]));
      if (!c) return send(res, 404, { message: 'Not Found' });
      c.body = String(body['body']);
      c.updated_at = now();
      return send(res, 200, c);
    }
    if ((m = /^\/commits\/([^/]+)\/pulls$/.exec(path)) && req.method === 'GET')
      return page(res, url, pullsByCommit.get(decodeURIComponent(m[1] ?? '')) ?? []);
    if (path === '/issues' && req.method === 'GET') {
      const state = url.searchParams.get('state') ?? 'open';
      const labels = (url.searchParams.get('labels') ?? '').split(',').filter(Boolean);
      return page(
        res,
        url,
        issues.filter(
          (i) =>
            (state === 'all' || i.state === state) && labels.every((l) => i.labels.includes(l)),
        ),
      );
    }
    if (path === '/issues' && req.method === 'POST') {
      const i: FakeIssue = {
        number: nextId++,
        title: String(body['title']),
        body: String(body['body'] ?? ''),
        state: 'open',
        labels: (body['labels'] as string[] | undefined) ?? [],
      };
      issues.push(i);
      return send(res, 201, i);
    }
    if ((m = /^\/issues\/(\d+)$/.exec(path)) && req.method === 'PATCH') {
      const i = issues.find((x) => x.number === Number(m?.[1]));
      if (!i) return send(res, 404, { message: 'Not Found' });
      if (typeof body['body'] === 'string') i.body = body['body'];
      if (body['state'] === 'open' || body['state'] === 'closed') i.state = body['state'];
      return send(res, 200, i);
    }
    send(res, 404, { message: 'Not Found' });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        send(res, 500, { message: String(err) });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    repository,
    requests,
    comments,
    issues,
    pullsByCommit,
    failNext(method, pathPrefix, statuses) {
      faults.push({ method, prefix: pathPrefix, statuses: [...statuses] });
    },
    addComment(issue, body, user = { login: 'octocat', type: 'User' }) {
      const c: FakeComment = {
        id: nextId++,
        issue,
        body,
        user,
        created_at: now(),
        updated_at: now(),
      };
      comments.push(c);
      return c;
    },
    // GraphQL's viewer query is a POST that reads.
    writes: () => requests.filter((r) => r.method !== 'GET' && r.path !== '/graphql'),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
