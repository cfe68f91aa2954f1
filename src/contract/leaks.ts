import { nullable, oneOf, Type, type Static } from './schema.js';

/** How a reported token is answered: ours (a real secret of a key) or not. */
export const LEAK_LABELS = ['true_positive', 'false_positive'] as const;

/** Most tokens one alert may report. */
export const MAX_LEAK_REPORTS = 1000;

/** One token in a GitHub secret scanning partner alert. */
export const LeakReportItem = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 1000, description: 'The string found.' }),
  type: Type.String({ maxLength: 200, description: 'The secret type the platform registered with GitHub for the pattern that matched.' }),
  url: Type.Optional(nullable(Type.String({ maxLength: 2000, description: 'Where it was found.' }))),
  source: Type.Optional(nullable(Type.String({ maxLength: 200, description: 'What it was found in: content, commit, pull_request_title, npm, ...' }))),
});
export const LeakAlertBody = Type.Array(LeakReportItem, { maxItems: MAX_LEAK_REPORTS });
export type LeakAlertBody = Static<typeof LeakAlertBody>;

/** The answer: a label per reported token, in the alert's order (GitHub's false-positive feedback). */
export const LeakLabels = Type.Array(
  Type.Object({
    token_raw: Type.String(),
    token_type: Type.String(),
    label: oneOf(LEAK_LABELS),
  }),
);
