import type { PageRequest } from '../../store/platform-model.js';

export interface PageQuery {
  page: number;
  pageSize: number;
}

export interface PageMeta {
  page: number;
  count: number;
  pageCount: number;
  totalCount: number;
}

/** The rows a page asks for. A page past the end is simply empty (not an error). */
export function pageRequest(q: PageQuery): PageRequest {
  return { offset: (q.page - 1) * q.pageSize, limit: q.pageSize };
}

export function pageMeta(q: PageQuery, count: number, totalCount: number): PageMeta {
  return { page: q.page, count, pageCount: Math.ceil(totalCount / q.pageSize), totalCount };
}

/** Pages a list that is already in memory. */
export function pageOf<T>(all: readonly T[], q: PageQuery): { meta: PageMeta; items: T[] } {
  const { offset, limit } = pageRequest(q);
  const items = all.slice(offset, offset + limit);
  return { meta: pageMeta(q, items.length, all.length), items };
}
