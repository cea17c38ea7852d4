/**
 * The value `build` returns, built when first asked for and the same value after. For what a
 * module would otherwise build at load (zod schemas, tables): a cold start pays for everything it
 * evaluates, used or not.
 */
export function onFirstUse<T>(build: () => T): () => T {
  let built: { readonly value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}
