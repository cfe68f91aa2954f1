/**
 * A value now, or a promise of it when it must first be loaded.
 *
 * Why: on the verification hot path the caller's bearer token and the credential are almost
 * always cached, and an `async` function (or a `.then`) would cost a promise, a microtask and the
 * garbage of both on every request, a measurable share of a cached verification. So the steps of
 * that path return their value directly when they have it and a promise only when they had to go
 * to the store or to Redis; callers chain the steps with `andThen`, and whoever awaits the end
 * result awaits a plain value just as well.
 */
export type MaybePromise<T> = T | Promise<T>;

/** Applies `next` to `value` at once when it is there, or once the promise resolves. */
export function andThen<T, R>(value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}
