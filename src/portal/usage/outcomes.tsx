import { lazy, Suspense } from 'react';
import type { Usage } from '../../contract/usage';
import type { UsageGranularity, UsageOutcome } from '../../domain/verification';
import { Spinner } from '../components/ui';

/** How each outcome is named and coloured: valid in green, each refusal in a colour of its own. */
export const OUTCOME: Record<UsageOutcome, { label: string; color: string }> = {
  valid: { label: 'Valid', color: '#12b76a' },
  inactive: { label: 'Inactive key', color: '#98a2b3' },
  expired: { label: 'Expired', color: '#667085' },
  revoked: { label: 'Revoked', color: '#344054' },
  wrong_environment: { label: 'Wrong environment', color: '#7a5af8' },
  insufficient_scope: { label: 'Missing scope', color: '#2e90fa' },
  rate_limited: { label: 'Rate limited', color: '#f79009' },
  ip_not_allowed: { label: 'Address not allowed', color: '#f04438' },
  usage_exceeded: { label: 'Credits used up', color: '#c11574' },
};

/** The chart library loads with the first chart, not with the portal. */
const Chart = lazy(() => import('./UsageChart'));

/** Requests over time, refusals stacked by reason (see UsageChart.tsx). */
export function UsageChart(props: { usage: Usage; title: string }) {
  return (
    <Suspense fallback={<Spinner label="Loading chart" />}>
      <Chart {...props} />
    </Suspense>
  );
}

/** The period a usage view shows: the last 24 hours by hour, or the last 30 days by day. */
export function PeriodSwitch({ value, onChange, label }: { value: UsageGranularity; onChange: (g: UsageGranularity) => void; label: string }) {
  return (
    <div className="segmented segmented-small" role="radiogroup" aria-label={label}>
      {(['hour', 'day'] as const).map((g) => (
        <label key={g} className={`segment ${value === g ? 'is-selected' : ''}`}>
          <input type="radio" name={label} value={g} checked={value === g} onChange={() => onChange(g)} />
          <span>{g === 'hour' ? 'Last 24 hours' : 'Last 30 days'}</span>
        </label>
      ))}
    </div>
  );
}
