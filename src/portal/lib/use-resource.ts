import { useCallback, useEffect, useRef, useState, type DependencyList } from 'react';

export interface Resource<T> {
  /** The last answer; kept while a reload is under way, so the page does not flicker. */
  data: T | null;
  /** Why the last load failed; null once one succeeds. */
  error: unknown;
  loading: boolean;
  /** Loads again (after a change the page made). */
  reload: () => void;
  /** Replaces the data in place (an optimistic change, before the reload confirms it). */
  setData: (update: (data: T | null) => T | null) => void;
}

/**
 * The portal's one way to read from the API: `load` runs when `deps` change and on `reload`. An
 * answer that arrives after a newer load has started is dropped, so a slow answer never overwrites
 * a newer one, and nothing is set after the page has gone.
 */
export function useResource<T>(load: () => Promise<T>, deps: DependencyList, options: { onLoaded?: (data: T) => void } = {}): Resource<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [reloads, setReloads] = useState(0);
  const onLoaded = useRef(options.onLoaded);
  onLoaded.current = options.onLoaded;

  useEffect(() => {
    let current = true;
    setLoading(true);
    load()
      .then((result) => {
        if (!current) return;
        setData(result);
        setError(null);
        onLoaded.current?.(result);
      })
      .catch((err: unknown) => current && setError(err))
      .finally(() => current && setLoading(false));
    return () => {
      current = false;
    };
    // `load` is a new function on every render; `deps` say when it loads something else.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, reloads]);

  const reload = useCallback(() => setReloads((n) => n + 1), []);
  return { data, error, loading, reload, setData };
}
