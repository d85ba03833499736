/**
 * JSON Schema -> the OpenAPI subset Vertex AI accepts for function parameters. Vertex rejects
 * `additionalProperties`, `propertyNames`, `exclusiveMinimum`, `$schema`, `default`, `const`
 * and type arrays, and an OBJECT must list its properties. So:
 *  - a map (`additionalProperties` without `properties`, e.g. `task_distribution`) becomes an
 *    ARRAY of `{key, value}` entries, and `restoreMaps` turns the model's entries back into an
 *    object before the core validates the decision;
 *  - `["string","null"]` becomes `STRING` + `nullable`, `const` becomes a one-value `enum`;
 *  - keywords outside the subset are dropped (the core validates every decision anyway).
 */
type Json = Record<string, unknown>;

const COPIED = [
  'description',
  'enum',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'required',
  'nullable',
  'title',
];

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A schema for an object whose keys are data (a map), not named properties. */
export function isMapSchema(schema: Json): boolean {
  return schema.type === 'object' && !isObject(schema.properties) && isObject(schema.additionalProperties);
}

export function toVertexSchema(schema: Json): Json {
  if (isMapSchema(schema)) {
    return {
      type: 'ARRAY',
      ...(typeof schema.description === 'string' ? { description: schema.description } : {}),
      items: {
        type: 'OBJECT',
        properties: { key: { type: 'STRING' }, value: toVertexSchema(schema.additionalProperties as Json) },
        required: ['key', 'value'],
      },
    };
  }
  const out: Json = {};
  let type = schema.type;
  if (Array.isArray(type)) {
    const nonNull = type.filter((t) => t !== 'null');
    if (nonNull.length < type.length) out.nullable = true;
    type = nonNull[0];
  }
  if (typeof type === 'string') out.type = type.toUpperCase();
  for (const key of COPIED) if (schema[key] !== undefined) out[key] = schema[key];
  if (schema.const !== undefined) out.enum = [schema.const];
  if (isObject(schema.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([k, v]) => [k, toVertexSchema(v as Json)]),
    );
  }
  if (isObject(schema.items)) out.items = toVertexSchema(schema.items);
  for (const key of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(schema[key])) out.anyOf = (schema[key] as Json[]).map(toVertexSchema);
  }
  if (out.type === 'OBJECT' && !out.properties) {
    // An object with no declared properties cannot be expressed; ask for JSON text instead.
    return { type: 'STRING', description: `${schema.description ?? 'an object'} as JSON text` };
  }
  return out;
}

/** Undoes the map-to-entries rewrite of `toVertexSchema` on the model's arguments. */
export function restoreMaps(schema: Json, value: unknown): unknown {
  if (isMapSchema(schema)) {
    if (!Array.isArray(value)) return value;
    const entries = value.filter((e): e is Json => isObject(e) && typeof e.key === 'string');
    return Object.fromEntries(
      entries.map((e) => [e.key as string, restoreMaps(schema.additionalProperties as Json, e.value)]),
    );
  }
  if (isObject(schema.properties) && isObject(value)) {
    const props = schema.properties as Record<string, Json>;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, props[k] ? restoreMaps(props[k], v) : v]),
    );
  }
  if (isObject(schema.items) && Array.isArray(value))
    return value.map((v) => restoreMaps(schema.items as Json, v));
  return value;
}
