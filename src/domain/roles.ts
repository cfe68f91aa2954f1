import type { Permission } from './principal.js';

/** The built-in operator roles. Custom roles combine permissions freely. */
export const BUILT_IN_ROLES: Record<'owner' | 'editor' | 'viewer', readonly Permission[]> = {
  owner: ['keys.verify', 'keys.view', 'keys.edit', 'keys.renew', 'keys.reveal', 'settings.edit', 'operators.manage'],
  editor: ['keys.view', 'keys.edit', 'keys.renew'],
  viewer: ['keys.view'],
};
export type BuiltInRole = keyof typeof BUILT_IN_ROLES;
export const isBuiltInRole = (role: string): role is BuiltInRole => Object.hasOwn(BUILT_IN_ROLES, role);
