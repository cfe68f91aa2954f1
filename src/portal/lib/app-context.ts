import { createContext, useContext } from 'react';
import type { ApiClient } from './api';
import type { Catalog, Environment, Me, MeAccount, Permission } from './types';

/** What every page needs: the API as the signed-in operator, who that is, and where they are. */
export interface AppState {
  api: ApiClient;
  me: Me;
  catalog: Catalog | null;
  /** The account being worked on (from the URL), when the page is an account's page. */
  account: MeAccount | null;
  environment: Environment;
  /** Does the signed-in operator hold this permission on the current account? */
  can: (permission: Permission) => boolean;
  refreshMe: () => Promise<Me | null>;
}

export const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const state = useContext(AppContext);
  if (!state) throw new Error('useApp outside the signed-in app');
  return state;
}

/**
 * Which permission shows which page. The API enforces the same rules; hiding what cannot be used
 * keeps the portal honest about what the operator may do.
 */
export const PAGE_PERMISSION: Record<string, Permission> = {
  keys: 'keys.view',
  usage: 'keys.view',
  'external-keys': 'keys.view',
  webhooks: 'settings.edit',
  settings: 'settings.edit',
  audit: 'keys.view',
  operators: 'operators.manage',
};
