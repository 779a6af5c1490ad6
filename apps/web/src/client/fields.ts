/**
 * The fields that have a value. Optional fields of the contracts are left out rather than sent as
 * `undefined` (the schemas, like the compiler's exactOptionalPropertyTypes, tell the two apart).
 */
export const definedFields = <T extends Record<string, unknown>>(fields: T) =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>
  }
