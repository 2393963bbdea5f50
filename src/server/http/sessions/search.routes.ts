import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Store } from '../../../adapters/store/store.ts';
import { NotFoundError } from '../../../core/errors.ts';
import type { Principal } from '../../../core/permissions.ts';
import { MAX_BUCKETS, type ActivityService } from '../../../core/search/activity.ts';
import type { SessionSearch } from '../../../core/search/session-search.ts';
import { inScope, sessionScope } from '../../../core/sessions/session-access.ts';
import { idParams, limit, timeParam } from '../../../protocol/common.ts';
import { ACTIVITY_TYPES, SEARCH_SOURCES, SESSION_KINDS, SESSION_STATUSES } from '../../../protocol/sessions.ts';
import { route } from '../route.ts';

/** `a,b,c` where each item is one of `values`; the 400 names the parameter and the bad item. */
function commaList<T extends string>(values: readonly T[]) {
  return z
    .string()
    .max(1000)
    .transform((v, ctx) => {
      const items = [...new Set(v.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
      const bad = items.find((s) => !(values as readonly string[]).includes(s));
      if (bad !== undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `unknown value "${bad.slice(0, 40)}"; use a comma list of ${values.join(', ')}` });
        return z.NEVER;
      }
      return items as T[];
    });
}

// Control characters cannot be typed into a search box; refusing them keeps q literal text.
const searchText = z.string().max(256).regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters'); // eslint-disable-line no-control-regex
const filterText = z.string().trim().min(1).max(255);

const searchQuery = z
  .object({
    q: searchText.optional(),
    in: commaList(SEARCH_SOURCES).optional(),
    user: filterText.optional(),
    secret: filterText.optional(),
    host: filterText.optional(),
    kind: z.enum(SESSION_KINDS).optional(),
    /** `ended` means every status but `active` (ended, terminated, interrupted). */
    status: z.enum(SESSION_STATUSES).optional(),
    from: timeParam.optional(),
    to: timeParam.optional(),
    cursor: z.string().max(512).optional(),
    limit,
  })
  .strict();

const activityQuery = z
  .object({ q: searchText.optional(), type: commaList(ACTIVITY_TYPES).optional(), cursor: z.string().max(512).optional(), limit })
  .strict();

const mapQuery = z.object({ buckets: z.coerce.number().int().min(1).max(MAX_BUCKETS).default(100) }).strict();

/**
 * Session search (GET /sessions), the activity grid and the activity map. Callers see only the
 * sessions in their scope; a session outside it answers 404, exactly like one that does not exist.
 */
export function registerSearchRoutes(app: FastifyInstance, deps: { store: Store; search: SessionSearch; activity: ActivityService }): void {
  route(app, {
    method: 'GET',
    url: '/api/v1/sessions',
    access: 'authenticated',
    query: searchQuery,
    handler: async ({ query, principal }) => deps.search.search(await sessionScope(deps.store, principal), query),
  });

  const visible = async (id: string, principal: Principal) => {
    const row = await deps.store.db.selectFrom('sessions').select(['secret_id']).where('id', '=', id).executeTakeFirst();
    if (!row || !inScope(await sessionScope(deps.store, principal), row.secret_id)) throw new NotFoundError('session');
  };

  route(app, {
    method: 'GET',
    url: '/api/v1/sessions/:id/activity',
    access: 'authenticated',
    params: idParams,
    query: activityQuery,
    handler: async ({ params, query, principal }) => {
      await visible(params.id, principal);
      return deps.activity.grid(params.id, query);
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/v1/sessions/:id/activity-map',
    access: 'authenticated',
    params: idParams,
    query: mapQuery,
    handler: async ({ params, query, principal }) => {
      await visible(params.id, principal);
      return deps.activity.map(params.id, query.buckets);
    },
  });
}
