import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { USAGE_OUTCOMES, type UsageGranularity } from '../../domain/verification';
import type { Usage } from '../../contract/usage';
import { plural } from '../lib/format';
import { OUTCOME } from './outcomes';

const REFUSALS = USAGE_OUTCOMES.filter((o) => o !== 'valid');

/** A bucket's label on the axis: the hour where the operator is, or the day. */
function tick(iso: string, granularity: UsageGranularity): string {
  const d = new Date(iso);
  return granularity === 'hour'
    ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

function when(iso: string, granularity: UsageGranularity): string {
  const d = new Date(iso);
  return granularity === 'hour'
    ? d.toLocaleString(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString(undefined, { weekday: 'short', month: 'short', day: 'numeric', timeZone: 'UTC' });
}

/**
 * Requests over time as stacked bars: valid ones at the bottom, refusals stacked on them by
 * reason (only the reasons that occurred, so the legend stays short on a phone). Drawn by
 * Recharts as SVG; its few inline styles are set through the DOM, which the portal's CSP allows.
 */
export default function UsageChart({ usage, title }: { usage: Usage; title: string }) {
  const granularity = usage.granularity;
  const seen = REFUSALS.filter((o) => usage.totals.counts[o] > 0);
  const data = usage.buckets.map((b) => ({ start: b.start, ...b.counts }));
  const refused = usage.totals.total - usage.totals.counts.valid;
  const summary = `${plural(usage.totals.total, 'request')}, ${plural(refused, 'refusal')}${seen.length ? `: ${seen.map((o) => `${OUTCOME[o].label.toLowerCase()} ${usage.totals.counts[o]}`).join(', ')}` : ''}`;
  return (
    <figure className="usage-chart" aria-label={title}>
      <figcaption className="usage-chart-caption">
        <strong>{title}</strong>
        <span className="muted small" data-usage-summary>
          {summary}
        </span>
      </figcaption>
      {usage.totals.total === 0 ? (
        <p className="usage-empty muted">No verifications or token requests in this period.</p>
      ) : (
        <div className="usage-chart-area" aria-hidden="true">
          <ResponsiveContainer width="100%" height={240}>
            <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }} barCategoryGap="15%">
              <CartesianGrid vertical={false} stroke="#e2e5ea" />
              <XAxis dataKey="start" tickFormatter={(v: string) => tick(v, granularity)} minTickGap={24} tick={{ fontSize: 12 }} tickLine={false} />
              <YAxis allowDecimals={false} width={44} tick={{ fontSize: 12 }} tickLine={false} axisLine={false} />
              <Tooltip labelFormatter={(v) => when(String(v), granularity)} cursor={{ fill: 'rgb(67 56 202 / 8%)' }} />
              <Legend iconType="square" iconSize={10} />
              <Bar dataKey="valid" name={OUTCOME.valid.label} stackId="requests" fill={OUTCOME.valid.color} isAnimationActive={false} />
              {seen.map((o) => (
                <Bar key={o} dataKey={o} name={OUTCOME[o].label} stackId="requests" fill={OUTCOME[o].color} isAnimationActive={false} />
              ))}
            </BarChart>
          </ResponsiveContainer>
        </div>
      )}
    </figure>
  );
}

