/**
 * CSV (RFC 4180) for the console's exports: a header row, CRLF line ends, every cell quoted when it
 * holds a quote, comma or line break, and cells that a spreadsheet would run as a formula
 * (starting with = + - @, or a tab or carriage return) prefixed with a single quote (OWASP CSV injection).
 */
export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Whether a request asks for CSV: `format=csv`, or an Accept header that prefers text/csv to JSON. */
export function wantsCsv(format: string | undefined, accept: string | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  if (!accept) return false;
  const types = accept.split(',').map((part) => {
    const [type = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return { type: type.trim(), q: qParam ? Number(qParam.slice(2)) : 1 };
  });
  const best = (match: (type: string) => boolean) => Math.max(0, ...types.filter((t) => match(t.type)).map((t) => t.q));
  const csv = best((t) => t === 'text/csv');
  // An explicit application/json at the same preference keeps JSON; a wildcard does not.
  return csv > 0 && csv > best((t) => t === 'application/json') && csv >= best((t) => t === '*/*' || t === 'application/*');
}
