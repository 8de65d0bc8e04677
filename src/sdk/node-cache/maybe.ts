// A value now, or later: an entry read from memory answers in place, one from the disk through
// the thread pool. Passing the value on without a promise when it is already there keeps a warm
// read free of microtask hops (each one costs about as much as the read itself).

export type Maybe<T> = T | Promise<T>;

/** `f` of the value: now when it is here, else when it arrives (`onError` for a rejection, or a throw of `f`'s producer). */
export function mapMaybe<T, U>(produce: () => Maybe<T>, f: (value: T) => U, onError: (err: unknown) => U): Maybe<U> {
  let value: Maybe<T>;
  try {
    value = produce();
  } catch (err) {
    return onError(err);
  }
  return value instanceof Promise ? value.then(f, onError) : f(value);
}
