import type { FastifyInstance } from 'fastify';
import { actorOf, type AuditService } from '../../../core/audit/audit.service.ts';
import type { SettingsService } from '../../../core/settings/settings.service.ts';
import { sessionRecordingSettings } from '../../../protocol/settings.ts';
import { route } from '../route.ts';

/** The session-recording settings tab. PUT takes the full object that GET returns. */
export function registerSettingsRoutes(app: FastifyInstance, deps: { settings: SettingsService; audit: AuditService }): void {
  const { settings, audit } = deps;

  route(app, {
    method: 'GET',
    url: '/api/v1/settings/session-recording',
    access: 'settings.administer',
    handler: () => settings.get(),
  });

  route(app, {
    method: 'PUT',
    url: '/api/v1/settings/session-recording',
    access: 'settings.administer',
    body: sessionRecordingSettings,
    handler: async ({ body, principal, ip }) => {
      const result = await settings.put(body, { id: principal.userId });
      if (result.changed.length > 0) {
        const pick = (s: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(result.changed.map((f) => [f, s[f]]));
        await audit.record({
          actor: actorOf(principal, ip),
          action: 'settings.update',
          target: { type: 'settings', id: 'session-recording' },
          details: { changed: result.changed, before: pick(result.previous), after: pick(result.settings) },
        });
      }
      return result.settings;
    },
  });
}
