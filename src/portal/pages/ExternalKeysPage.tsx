import { useState } from 'react';
import { ApiError, accountPath, describeError } from '../lib/api';
import { useApp } from '../lib/app-context';
import { useResource } from '../lib/use-resource';
import { ENVIRONMENT_LABEL, capitalize } from '../lib/format';
import type { ExternalKey, Role } from '../lib/types';
import { Dialog } from '../components/Dialog';
import { Icon } from '../components/Icons';
import { Badge, ErrorBanner, Field, NotAvailable, SecretValue, Spinner, Switch } from '../components/ui';
import { ConfirmDialog, useToast } from '../components/widgets';
import { RolesBuilder } from '../keys/access';

/** An endpoint the server does not have yet answers the generic "There is no GET ... endpoint" 404. */
export const isMissingEndpoint = (err: unknown) => err instanceof ApiError && err.status === 404 && err.code === 'not_found' && /^There is no /.test(err.detail);

/**
 * Keys of other accounts that this account has granted roles in its resources. The grant can be
 * switched off or removed here; their secrets are never shown or renewed from this side.
 */
export function ExternalKeysPage() {
  const { api, account, can, catalog } = useApp();
  const toast = useToast();
  const [removing, setRemoving] = useState<ExternalKey | null>(null);
  const [granting, setGranting] = useState(false);
  const path = `${accountPath(account!.id)}`;

  const { data, error, reload: load, setData } = useResource(() => api.grants.externalKeys(account!.id), [api, account]);
  const items = data?.items ?? null;

  const setActive = async (grant: ExternalKey, active: boolean) => {
    // The switch moves at once; it moves back if the server refuses.
    setData((d) => d && { items: d.items.map((g) => (g.grantId === grant.grantId ? { ...g, active } : g)) });
    try {
      await api.patch(`${path}/grants/${encodeURIComponent(grant.grantId)}`, { active });
      toast(`Access of “${grant.key.name}” ${active ? 'switched on' : 'switched off'}.`);
      load();
    } catch (err) {
      toast(`Nothing changed: ${describeError(err)}`, 'error');
      load();
    }
  };

  const roleName = (id: string) => catalog?.roleDefinitions.find((d) => d.id === id)?.name ?? id;

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>External keys</h1>
          <p className="muted">Keys of other accounts that you have given access to {account!.name}. You control their access here; their owners keep the secrets.</p>
        </div>
        {can('keys.edit') && !isMissingEndpoint(error) && (
          <button type="button" className="button button-primary" onClick={() => setGranting(true)}>
            <Icon name="plus" size={16} />
            <span>Give a key access</span>
          </button>
        )}
      </div>
      {isMissingEndpoint(error) ? (
        <NotAvailable what="External keys" />
      ) : error ? (
        <ErrorBanner error={error} />
      ) : items === null ? (
        <Spinner label="Loading external keys" />
      ) : items.length === 0 ? (
        <div className="empty-state">
          <h2>No external keys</h2>
          <p>No other account has been given access to {account!.name}. When you grant a key of another account a role here, it is listed on this page.</p>
        </div>
      ) : (
        <div className="table-wrap">
          <table className="key-table">
            <caption className="visually-hidden">External keys with access to {account!.name}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Owner account</th>
                <th scope="col">Client ID</th>
                <th scope="col">Roles here</th>
                <th scope="col">Access</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((grant) => (
                <tr key={grant.grantId}>
                  <td data-label="Name">
                    <strong>{grant.key.name}</strong> <Badge tone={grant.key.environment === 'production' ? 'red' : 'blue'}>{ENVIRONMENT_LABEL[grant.key.environment]}</Badge>
                  </td>
                  <td data-label="Owner account">
                    <code>{grant.key.accountId}</code>
                  </td>
                  <td data-label="Client ID">{grant.key.clientId ? <SecretValue value={grant.key.clientId} label={`client ID of ${grant.key.name}`} /> : <span className="muted">—</span>}</td>
                  <td data-label="Roles here">{grant.roles.map((r) => `${roleName(r.definition)} · ${capitalize(r.level)}`).join(', ') || <span className="muted">None</span>}</td>
                  <td data-label="Access">
                    <Switch checked={grant.active} onChange={(v) => void setActive(grant, v)} disabled={!can('keys.edit')} label={grant.active ? 'On' : 'Off'} />
                  </td>
                  <td className="col-actions">
                    {can('keys.edit') && (
                      <button type="button" className="button button-ghost button-small" onClick={() => setRemoving(grant)}>
                        Remove
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {granting && (
        <GrantDialog
          onClose={() => setGranting(false)}
          onDone={(grant) => {
            toast(`“${grant.key.name}” now has access to ${account!.name}.`);
            setGranting(false);
            load();
          }}
        />
      )}
      {removing && (
        <ConfirmDialog
          title={`Remove the access of “${removing.key.name}”?`}
          confirmLabel="Remove access"
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            await api.del(`${path}/grants/${encodeURIComponent(removing.grantId)}`);
            toast(`Access of “${removing.key.name}” removed.`);
            setRemoving(null);
            load();
          }}
        >
          <p>
            <strong>This action is irrevocable.</strong> The key keeps working for its own account, but no longer in {account!.name}. To give access again, its
            owner has to be granted anew.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

/** Grant a key of another account roles in this account's resources. */
function GrantDialog({ onClose, onDone }: { onClose: () => void; onDone: (grant: ExternalKey) => void }) {
  const { api, account, catalog } = useApp();
  const [key, setKey] = useState('');
  const [roles, setRoles] = useState<Role[]>(catalog?.roleDefinitions[0] ? [{ definition: catalog.roleDefinitions[0].id, level: 'viewer' }] : []);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [keyError, setKeyError] = useState<string | undefined>();
  const problem = error instanceof ApiError ? error : null;

  const submit = async () => {
    setError(null);
    if (!key.trim()) return setKeyError('Paste the client ID or key ID the other account gave you.');
    setKeyError(undefined);
    setBusy(true);
    try {
      onDone(await api.post<ExternalKey>(`${accountPath(account!.id)}/grants`, { key: key.trim(), roles }));
    } catch (err) {
      setError(err);
      if (err instanceof ApiError) setKeyError(err.forField('/key'));
      setBusy(false);
    }
  };

  return (
    <Dialog
      title="Give a key of another account access"
      description={`The key keeps belonging to its account; it gets the roles you pick in ${account!.name}.`}
      onClose={onClose}
      onSubmit={submit}
      busy={busy}
      footer={
        <>
          <button type="button" className="button button-secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy || roles.length === 0}>
            {busy ? 'Granting…' : 'Give access'}
          </button>
        </>
      }
    >
      <ErrorBanner error={problem && problem.fieldProblems.length && problem.unclaimed(['/key', '/roles']).length === 0 ? null : error} />
      <Field label="Client ID or key ID" required error={keyError} hint="Ask the other account for it: the client ID of a REST key, or the key ID.">
        {(props) => <input {...props} value={key} onChange={(e) => setKey(e.target.value)} spellCheck={false} autoComplete="off" />}
      </Field>
      {catalog && <RolesBuilder catalog={catalog} value={roles} onChange={setRoles} errorFor={(i) => (i < 0 ? problem?.fieldProblems.filter((p) => p.pointer === '/roles').map((p) => p.detail).join('; ') || undefined : problem?.forField(`/roles/${i}`))} />}
    </Dialog>
  );
}
