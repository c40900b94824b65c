/**
 * How many times a header field appears in the request as it was sent. Node keeps only the first
 * `Authorization` in `request.headers` (duplicates of some fields are dropped, of others joined),
 * so the raw header list is the only source that can tell one header from two.
 */
export function headerCount(rawHeaders: readonly string[], name: string): number {
  const wanted = name.toLowerCase();
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const field = rawHeaders[i] as string;
    if (field.length === wanted.length && field.toLowerCase() === wanted) count++;
  }
  return count;
}

/** Whether the request carries more than one `Authorization` header (RFC 6749 5.2 / RFC 6750 3.1: invalid_request). */
export function hasRepeatedAuthorization(rawHeaders: readonly string[]): boolean {
  return headerCount(rawHeaders, 'authorization') > 1;
}
