import { useEffect, useId, useRef, useState } from 'react';
import type { AccessLevel, Catalog, Role } from '../lib/types';
import { Icon } from '../components/Icons';
import { FieldError } from '../components/ui';

const LEVEL_LABEL: Record<AccessLevel, string> = { viewer: 'Viewer', editor: 'Editor', owner: 'Owner' };

/** A checkbox that can show "some of the group" (indeterminate). */
function GroupCheckbox({ checked, indeterminate, onChange, label, disabled }: { checked: boolean; indeterminate: boolean; onChange: (v: boolean) => void; label: string; disabled?: boolean }) {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = indeterminate;
  }, [indeterminate]);
  return <input ref={ref} type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} aria-label={label} disabled={disabled} />;
}

/**
 * Scopes grouped by the service they belong to, each group with an "all of this service" box and
 * a filter over names and descriptions. `error` is the API's word on the scopes (e.g. "unknown scope").
 */
export function ScopePicker({ catalog, value, onChange, error, disabled }: { catalog: Catalog; value: string[]; onChange: (scopes: string[]) => void; error?: string; disabled?: boolean }) {
  const [filter, setFilter] = useState('');
  const id = useId();
  const selected = new Set(value);
  const needle = filter.trim().toLowerCase();
  const inOrder = (set: Set<string>) => catalog.services.flatMap((s) => s.scopes.map((x) => x.id)).filter((x) => set.has(x));
  const set = (scope: string, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(scope);
    else next.delete(scope);
    onChange(inOrder(next));
  };
  const setMany = (scopes: string[], on: boolean) => {
    const next = new Set(selected);
    for (const s of scopes) on ? next.add(s) : next.delete(s);
    onChange(inOrder(next));
  };
  const services = catalog.services
    .map((service) => ({ ...service, shown: service.scopes.filter((s) => !needle || s.id.includes(needle) || s.description.toLowerCase().includes(needle) || service.name.toLowerCase().includes(needle)) }))
    .filter((s) => s.shown.length > 0);

  return (
    <fieldset className={`scope-picker ${error ? 'field-invalid' : ''}`} aria-describedby={error ? `${id}-error` : `${id}-count`} data-field="scopes">
      <legend className="field-label">Scopes</legend>
      <div className="scope-toolbar">
        <div className="input-icon">
          <Icon name="search" size={16} />
          <input type="search" aria-label="Filter scopes" placeholder="Filter scopes" value={filter} onChange={(e) => setFilter(e.target.value)} disabled={disabled} />
        </div>
        <span id={`${id}-count`} className="muted small" aria-live="polite">
          {value.length} selected
        </span>
      </div>
      <div className="scope-groups">
        {services.length === 0 && <p className="muted small">No scope matches “{filter}”.</p>}
        {services.map((service) => {
          const ids = service.scopes.map((s) => s.id);
          const count = ids.filter((s) => selected.has(s)).length;
          return (
            <div key={service.id} className="scope-group" role="group" aria-labelledby={`${id}-${service.id}`}>
              <div className="scope-group-header">
                <GroupCheckbox
                  checked={count === ids.length}
                  indeterminate={count > 0 && count < ids.length}
                  onChange={(on) => setMany(ids, on)}
                  label={`All scopes of ${service.name}`}
                  disabled={disabled}
                />
                <span id={`${id}-${service.id}`} className="scope-group-name">
                  {service.name}
                </span>
                <span className="muted small">
                  {count} of {ids.length}
                </span>
              </div>
              <ul className="scope-list">
                {service.shown.map((scope) => (
                  <li key={scope.id}>
                    <label className="scope-item">
                      <input type="checkbox" checked={selected.has(scope.id)} onChange={(e) => set(scope.id, e.target.checked)} disabled={disabled} value={scope.id} />
                      <code>{scope.id}</code>
                      <span className="muted">{scope.description}</span>
                    </label>
                  </li>
                ))}
              </ul>
            </div>
          );
        })}
      </div>
      {error && <FieldError id={`${id}-error`}>{error}</FieldError>}
    </fieldset>
  );
}

/**
 * Roles as rows of role definition + access level, with "Add role". Read-only where roles cannot
 * change (token keys after creation), with the reason.
 */
export function RolesBuilder({
  catalog,
  value,
  onChange,
  errorFor,
  readOnlyReason,
  disabled,
}: {
  catalog: Catalog;
  value: Role[];
  onChange: (roles: Role[]) => void;
  /** The API's error for `/roles` (index -1) or one row. */
  errorFor: (index: number) => string | undefined;
  readOnlyReason?: string;
  disabled?: boolean;
}) {
  const id = useId();
  const addButton = useRef<HTMLButtonElement>(null);
  const nameOf = (def: string) => catalog.roleDefinitions.find((d) => d.id === def)?.name ?? def;
  const grants = (role: Role) => catalog.roleDefinitions.find((d) => d.id === role.definition)?.levels.find((l) => l.level === role.level)?.scopes ?? [];
  const groupError = errorFor(-1);

  if (readOnlyReason)
    return (
      <div className="roles-builder" data-field="roles">
        <h3 className="field-label" id={`${id}-label`}>
          Roles
        </h3>
        {value.length === 0 ? (
          <p className="muted">No roles.</p>
        ) : (
          <ul className="role-chips" aria-labelledby={`${id}-label`}>
            {value.map((r) => (
              <li key={r.definition} className="role-chip">
                {nameOf(r.definition)} · {LEVEL_LABEL[r.level]}
              </li>
            ))}
          </ul>
        )}
        <p className="field-hint">
          <Icon name="info" size={14} /> {readOnlyReason}
        </p>
      </div>
    );

  const update = (index: number, patch: Partial<Role>) => onChange(value.map((r, i) => (i === index ? { ...r, ...patch } : r)));
  const remove = (index: number) => {
    onChange(value.filter((_, i) => i !== index));
    addButton.current?.focus();
  };
  const add = () => {
    const used = new Set(value.map((r) => r.definition));
    const next = catalog.roleDefinitions.find((d) => !used.has(d.id)) ?? catalog.roleDefinitions[0];
    if (!next) return;
    onChange([...value, { definition: next.id, level: 'viewer' }]);
    // Focus the new row's first control once it is drawn.
    window.setTimeout(() => document.getElementById(`${id}-def-${value.length}`)?.focus(), 0);
  };

  return (
    <fieldset className={`roles-builder ${groupError ? 'field-invalid' : ''}`} data-field="roles">
      <legend className="field-label">Roles</legend>
      <p className="field-hint">A role grants the scopes of one area at an access level: Owner includes Editor, Editor includes Viewer.</p>
      {value.length > 0 && (
        <div className="role-rows">
          {value.map((role, index) => {
            const rowError = errorFor(index);
            return (
              <div key={index} className={`role-row ${rowError ? 'field-invalid' : ''}`}>
                <div className="role-cell">
                  <label htmlFor={`${id}-def-${index}`} className="small-label">
                    Role definition
                  </label>
                  <select id={`${id}-def-${index}`} value={role.definition} onChange={(e) => update(index, { definition: e.target.value })} disabled={disabled} aria-invalid={rowError ? true : undefined}>
                    {!catalog.roleDefinitions.some((d) => d.id === role.definition) && <option value={role.definition}>{role.definition}</option>}
                    {catalog.roleDefinitions.map((d) => (
                      <option key={d.id} value={d.id}>
                        {d.name}
                      </option>
                    ))}
                  </select>
                </div>
                <div className="role-cell">
                  <label htmlFor={`${id}-level-${index}`} className="small-label">
                    Access level
                  </label>
                  <select id={`${id}-level-${index}`} value={role.level} onChange={(e) => update(index, { level: e.target.value as AccessLevel })} disabled={disabled}>
                    {catalog.levels.map((l) => (
                      <option key={l} value={l}>
                        {LEVEL_LABEL[l]}
                      </option>
                    ))}
                  </select>
                </div>
                <button type="button" className="icon-button role-remove" onClick={() => remove(index)} aria-label={`Remove role ${nameOf(role.definition)}`} disabled={disabled}>
                  <Icon name="trash" size={16} />
                </button>
                <p className="role-grants muted small">Grants {grants(role).join(', ') || 'no scopes'}</p>
                {rowError && <FieldError>{rowError}</FieldError>}
              </div>
            );
          })}
        </div>
      )}
      <button ref={addButton} type="button" className="button button-secondary button-small" onClick={add} disabled={disabled}>
        <Icon name="plus" size={16} />
        <span>Add role</span>
      </button>
      {groupError && <FieldError>{groupError}</FieldError>}
    </fieldset>
  );
}

/** Everything a custom key's picks grant, in catalog order. */
export function grantedBy(catalog: Catalog, scopes: string[], roles: Role[]): string[] {
  const set = new Set(scopes);
  for (const role of roles)
    for (const s of catalog.roleDefinitions.find((d) => d.id === role.definition)?.levels.find((l) => l.level === role.level)?.scopes ?? []) set.add(s);
  return catalog.services.flatMap((s) => s.scopes.map((x) => x.id)).filter((s) => set.has(s));
}
