import { useEffect } from 'react';
import { useApp } from '../lib/app-context';
import { formatDateTime, formatRelative } from '../lib/format';
import { useResource } from '../lib/use-resource';
import type { SystemNodes } from '../lib/types';
import { Badge, ErrorBanner, Spinner } from '../components/ui';

/** How often the page reads the nodes again while it is open. */
const REFRESH_MS = 5000;

/** Platform owner only: the Keyport nodes sharing the store, from their heartbeats. */
export function SystemPage() {
  const { api, me } = useApp();
  const nodes = useResource(() => api.get<SystemNodes>('/v1/system/nodes'), [api]);
  const { reload } = nodes;
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);

  if (!me.isPlatformOwner)
    return (
      <div className="empty-state">
        <h1>You cannot open this page</h1>
        <p>The System page is for the platform owner.</p>
      </div>
    );
  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>System</h1>
          <p className="muted">
            The Keyport nodes sharing this store. Each writes a heartbeat every {nodes.data?.heartbeatIntervalSeconds ?? 5} seconds: its version, how far behind
            the cluster event log it is, and its last error.
          </p>
        </div>
      </div>
      {nodes.error !== null && <ErrorBanner error={nodes.error} />}
      {nodes.data === null ? (
        nodes.error === null && <Spinner label="Loading nodes" />
      ) : (
        <div className="table-wrap">
          <table className="key-table system-table" aria-label="Nodes">
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">State</th>
                <th scope="col">Version</th>
                <th scope="col">Started</th>
                <th scope="col">Last seen</th>
                <th scope="col">Sync lag</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {nodes.data.nodes.map((n) => (
                <tr key={n.id} data-node={n.id}>
                  <td data-label="Node">
                    <code>{n.id}</code> <span className="muted">{n.host}</span> {n.self && <Badge tone="blue">this node</Badge>}
                  </td>
                  <td data-label="State">{n.state === 'up' ? <Badge tone="green">Up</Badge> : <Badge tone="red">Silent</Badge>}</td>
                  <td data-label="Version">{n.version}</td>
                  <td data-label="Started" title={n.startedAt}>{formatDateTime(n.startedAt)}</td>
                  <td data-label="Last seen" title={n.lastSeenAt}>{formatRelative(n.lastSeenAt)}</td>
                  <td data-label="Sync lag">{n.syncLagMs === null ? '—' : `${n.syncLagMs} ms`}</td>
                  <td data-label="Last error">
                    {n.lastError === null ? (
                      <span className="muted">None</span>
                    ) : (
                      <>
                        {n.lastError}
                        {n.lastErrorAt !== null && <span className="muted"> ({formatRelative(n.lastErrorAt)})</span>}
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
