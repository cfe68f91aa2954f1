import type { Account } from '../domain/model.js';
import { iso } from '../services/key-view.js';

/** An account as the API shows it. */
export const accountView = (a: Account) => ({
  id: a.id,
  name: a.name,
  eligible: a.eligible,
  settings: a.settings,
  createdAt: iso(a.createdAt)!,
  updatedAt: iso(a.updatedAt)!,
});
