import { useState } from 'react';
import { ApiError, accountPath, describeError } from '../lib/api';
import { useApp } from '../lib/app-context';
import { useResource } from '../lib/use-resource';
import { capitalize } from '../lib/format';
import type { Member, RoleInfo } from '../lib/types';
import { Icon } from '../components/Icons';
import { ErrorBanner, Field, NotAvailable, Spinner } from '../components/ui';
import { ConfirmDialog, useToast } from '../components/widgets';
import { isMissingEndpoint } from './ExternalKeysPage';

const BUILT_IN: RoleInfo[] = [
  { name: 'owner', builtIn: true, permissions: ['every permission'] },
  { name: 'editor', builtIn: true, permissions: ['keys.view', 'keys.edit', 'keys.renew'] },
  { name: 'viewer', builtIn: true, permissions: ['keys.view'] },
];
const roleId = (r: RoleInfo) => r.id ?? r.name;

/** The people who work on this account, and their roles. */
export function OperatorsPage() {
  const { api, account, me } = useApp();
  const toast = useToast();
  const [roles, setRoles] = useState<RoleInfo[]>(BUILT_IN);
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState('viewer');
  const [addError, setAddError] = useState<unknown>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string | undefined>>({});
  const [busy, setBusy] = useState(false);
  const [removing, setRemoving] = useState<Member | null>(null);
  const path = `${accountPath(account!.id)}/members`;

  const { data, error, reload: load } = useResource(() => api.get<{ items: Member[] }>(path), [api, path]);
  const members = data?.items ?? null;
  // Roles come from the server when it lists them; the built-in ones otherwise.
  useResource(() => api.get<{ items: RoleInfo[] } | RoleInfo[]>(`${accountPath(account!.id)}/roles`), [api, account], {
    onLoaded: (r) => {
      const list = Array.isArray(r) ? r : r.items;
      if (list?.length) setRoles(list);
    },
  });

  const add = async () => {
    const problems: Record<string, string | undefined> = {};
    if (!/^\S+@\S+\.\S+$/.test(email.trim())) problems.email = 'Enter an e-mail address, like name@example.com.';
    setFieldErrors(problems);
    setAddError(null);
    if (problems.email) return;
    setBusy(true);
    try {
      await api.post(path, { email: email.trim(), role, ...(name.trim() ? { name: name.trim() } : {}), ...(password ? { password } : {}) });
      toast(`${email.trim()} added as ${capitalize(roles.find((r) => roleId(r) === role)?.name ?? role)}.`);
      setEmail('');
      setName('');
      setPassword('');
      load();
    } catch (err) {
      setAddError(err);
      if (err instanceof ApiError) setFieldErrors({ email: err.forField('/email'), name: err.forField('/name'), password: err.forField('/password'), role: err.forField('/role') });
    } finally {
      setBusy(false);
    }
  };

  const changeRole = async (member: Member, next: string) => {
    try {
      await api.patch(`${path}/${encodeURIComponent(member.operatorId)}`, { role: next });
      toast(`${member.email} is now ${next}.`);
      load();
    } catch (err) {
      toast(`The role of ${member.email} was not changed: ${describeError(err)}`, 'error');
    }
  };

  if (isMissingEndpoint(error))
    return (
      <div className="page">
        <div className="page-header">
          <h1>Operators</h1>
        </div>
        <NotAvailable what="Managing operators" />
      </div>
    );

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>Operators</h1>
          <p className="muted">People who work on {account!.name}. Their role decides what they may see and do.</p>
        </div>
      </div>
      <ErrorBanner error={error} />
      <form
        className="card add-member"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void add();
        }}
      >
        <h2>Add an operator</h2>
        <ErrorBanner error={addError instanceof ApiError && Object.values(fieldErrors).some(Boolean) ? null : addError} />
        <div className="form-grid">
          <Field label="E-mail address" required error={fieldErrors.email}>
            {(props) => <input {...props} type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="off" />}
          </Field>
          <Field label="Name" optional error={fieldErrors.name}>
            {(props) => <input {...props} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
          </Field>
          <Field label="Initial password" optional error={fieldErrors.password} hint="Only for someone who has no Keyport sign-in yet: they sign in with it at once.">
            {(props) => <input {...props} type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />}
          </Field>
          <Field label="Role" error={fieldErrors.role}>
            {(props) => (
              <select {...props} value={role} onChange={(e) => setRole(e.target.value)}>
                {roles.map((r) => (
                  <option key={roleId(r)} value={roleId(r)}>
                    {r.builtIn ? capitalize(r.name) : r.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            <Icon name="plus" size={16} />
            <span>{busy ? 'Adding…' : 'Add operator'}</span>
          </button>
        </div>
      </form>
      {members === null && !error && <Spinner label="Loading operators" />}
      {members && members.length === 0 && <p className="muted">No operators yet.</p>}
      {members && members.length > 0 && (
        <div className="table-wrap">
          <table className="key-table">
            <caption className="visually-hidden">Operators of {account!.name}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">E-mail</th>
                <th scope="col">Role</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {members.map((m) => (
                <tr key={m.operatorId}>
                  <td data-label="Name">{m.name || <span className="muted">—</span>}</td>
                  <td data-label="E-mail">{m.email}</td>
                  <td data-label="Role">
                    <select aria-label={`Role of ${m.email}`} value={m.role} onChange={(e) => void changeRole(m, e.target.value)} disabled={m.operatorId === me.id}>
                      {!roles.some((r) => roleId(r) === m.role) && <option value={m.role}>{m.role}</option>}
                      {roles.map((r) => (
                        <option key={roleId(r)} value={roleId(r)}>
                          {r.builtIn ? capitalize(r.name) : r.name}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td className="col-actions">
                    {m.operatorId !== me.id && (
                      <button type="button" className="button button-ghost button-small" onClick={() => setRemoving(m)}>
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
      {removing && (
        <ConfirmDialog
          title={`Remove ${removing.email} from ${account!.name}?`}
          confirmLabel="Remove operator"
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            await api.del(`${path}/${encodeURIComponent(removing.operatorId)}`);
            toast(`${removing.email} removed.`);
            setRemoving(null);
            load();
          }}
        >
          <p>They lose access to this account at once. Keys they created keep working.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}
