/**
 * Every escaping connops applies to text it writes out, in one place. Pure.
 *
 * Renderers escape with these functions only, and SecretSet (src/io/redact.ts)
 * derives each secret's escaped forms from the same list, ESCAPES. That is what
 * keeps a secret out of output however it was encoded: a renderer that
 * escaped text its own way could turn a secret into a form the redactor does
 * not know, so a new escaping belongs here, in ESCAPES, or nowhere
 * (test/reliability/secret-encodings.test.ts checks every output format).
 */

/** The body of a JSON string literal (what `JSON.stringify` writes between the quotes). */
export function jsonStringBody(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

/**
 * Workflow-command data (`::error …::data`): `%`, CR and LF escaped as the
 * runner expects (@actions/core's `escapeData`, toolkit packages/core/src/command.ts).
 */
export function escapeWorkflowData(s: string): string {
  return s.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

/** Workflow-command property values (`file=…,title=…`): data escaping plus `:` and `,`. */
export function escapeWorkflowProperty(s: string): string {
  return escapeWorkflowData(s).replaceAll(':', '%3A').replaceAll(',', '%2C');
}

/** Markdown text: characters that would open a table cell, a tag or code become HTML entities. */
export function escapeMarkdown(s: string): string {
  return s.replace(/[|<>`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A Markdown table cell: as escapeMarkdown, and a line feed (which would end the row) becomes a space. */
export function escapeMarkdownCell(s: string): string {
  return escapeMarkdown(s).replaceAll('\n', ' ');
}

/** Text inside a Markdown code fence: a ``` would close the fence early. */
export function escapeFenced(s: string): string {
  return s.replaceAll('```', "'''");
}

/** `application/x-www-form-urlencoded` (URLSearchParams): like encodeURIComponent, but space is `+`. */
export function formEncode(s: string): string {
  return new URLSearchParams({ v: s }).toString().slice(2);
}

/**
 * Every character-by-character escaping any output of connops applies, or
 * that a value can meet on its way out (URL-encoding in a request line an
 * error message quotes). Each maps a text containing a secret to a text
 * containing the escaped secret, which is what lets SecretSet find it.
 */
export const ESCAPES: readonly ((s: string) => string)[] = [
  jsonStringBody,
  escapeWorkflowData,
  escapeWorkflowProperty,
  escapeMarkdown,
  escapeMarkdownCell,
  escapeFenced,
  encodeURIComponent,
  formEncode,
];
