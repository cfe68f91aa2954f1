import { useState } from 'react';
import type { UsageGranularity } from '../../domain/verification';
import { useApp } from '../lib/app-context';
import type { Key } from '../lib/types';
import { useResource } from '../lib/use-resource';
import { ErrorBanner, Spinner } from '../components/ui';
import { PeriodSwitch, UsageChart } from './outcomes';

/** A key's requests over the last day or month, refusals stacked by reason. */
export function KeyUsage({ keyItem }: { keyItem: Key }) {
  const { api, account } = useApp();
  const [granularity, setGranularity] = useState<UsageGranularity>('hour');
  const { data, error, loading } = useResource(() => api.usage(account!.id, { key: keyItem.id, granularity }), [api, account, keyItem.id, granularity]);
  return (
    <section className="key-usage" aria-label="Usage">
      <div className="section-header">
        <h3>Usage</h3>
        <PeriodSwitch value={granularity} onChange={setGranularity} label="Usage period" />
      </div>
      <ErrorBanner error={error} />
      {data === null && loading ? <Spinner label="Loading usage" /> : data && <UsageChart usage={data} title={granularity === 'hour' ? 'Requests per hour' : 'Requests per day'} />}
    </section>
  );
}
