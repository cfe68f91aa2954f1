import Type, { type Static, type TSchema } from 'typebox';
import { ERRORS, ERROR_CODES } from '../domain/errors.js';

/**
 * Building blocks of the API's schemas. Every request and answer shape of the public HTTP contract
 * is declared once, as a TypeBox schema in this folder: Fastify validates requests with it and
 * serialises answers through it (a field not declared never leaves the server), the OpenAPI
 * document is generated from it, and its TypeScript type (`Static`) is what the services, the
 * portal, the CLI and the tests use.
 */

export { Type, type Static, type TSchema };

/** A string of one of `values`, written `{type: 'string', enum}` as the OpenAPI document shows it. */
export const oneOf = <const V extends readonly string[]>(values: V, options: Record<string, unknown> = {}) =>
  Type.Unsafe<V[number]>({ type: 'string', enum: values, ...options });

/**
 * `schema` or null, written as a type list (`{type: ['string', 'null']}`) rather than `anyOf`:
 * the answer serialiser writes a type list directly, while `anyOf` makes it validate each value.
 */
export const nullable = <T extends TSchema & { type: string }>(schema: T) =>
  Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });

export const timestamp = Type.String({ format: 'date-time' });
export const nullableTimestamp = nullable(Type.String({ format: 'date-time' }));

/**
 * A reference to a schema registered once under `id` (`app.addSchema`, an OpenAPI component),
 * typed as that schema.
 */
export const ref = <T extends TSchema>(id: string, _schema: T) => Type.Unsafe<Static<T>>({ $ref: `${id}#` });

/** `schema` with the `$id` it is registered under. */
export const withId = <T extends TSchema>(id: string, schema: T) => ({ $id: id, ...schema });

/** An id or other short identifier in a path or a body. */
export const idString = (options: Record<string, unknown> = {}) => Type.String({ minLength: 1, maxLength: 100, ...options });

/**
 * What a name (of an account, key, token, role, operator) may hold: at least one visible character,
 * and no control characters (NUL, tabs, CR/LF and the other C0/C1 controls), no line or paragraph
 * separators, no bidirectional embeddings, overrides or isolates (which make a name display as
 * something else), and no unpaired UTF-16 surrogates. Checked with Ajv's Unicode regular expressions.
 */
export const NAME_PATTERN = '^(?=[\\s\\S]*\\S)[^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069\\uD800-\\uDFFF]*$';

/** Said of a name that does not match NAME_PATTERN. */
export const NAME_RULE = 'must contain a visible character, and no control characters, line breaks, bidirectional overrides or unpaired surrogates';

/** The schema of a name field, up to `maxLength` characters. */
export const nameString = (maxLength: number, options: Record<string, unknown> = {}) =>
  Type.String({ minLength: 1, maxLength, pattern: NAME_PATTERN, ...options });

/** A list page of keyset pagination. */
export const pageOf = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), nextCursor: nullable(Type.String()) });

/** The schema of a 204 answer: no body. */
export const NoContent = Type.Null({ description: 'No content.' });

/** One bad field; the pointer convention is described on the Problem schema. */
export const FieldProblem = Type.Object({ pointer: Type.String(), detail: Type.String() });
export type FieldProblem = Static<typeof FieldProblem>;

const codeTable = ERROR_CODES.map((code) => `- \`${code}\` (${ERRORS[code].status} ${ERRORS[code].title}): ${ERRORS[code].description}`).join('\n');

/** The RFC 9457 problem document every error under /v1 is answered with. */
export const Problem = Type.Object({
  type: Type.String({ description: 'urn:keyport:problem:<code>' }),
  code: oneOf(ERROR_CODES, { description: `Stable; clients may switch on it. Each code has one status and one title:\n${codeTable}` }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String({ description: 'What went wrong, written for people.' }),
  instance: Type.Optional(Type.String()),
  errors: Type.Optional(
    Type.Array(FieldProblem, {
      description:
        'The bad fields, as RFC 6901 JSON pointers: into the JSON body as it was sent (`/name`, `/roles/1/definition`), or, for other parts of the request, led by the part (`/querystring/cursor`, `/params/key`). An empty pointer is the request as a whole.',
    }),
  ),
});
export type Problem = Static<typeof Problem>;
export const ProblemRef = ref('Problem', Problem);

/** The error answers a route may give, for the OpenAPI document. */
export const problems = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, ProblemRef]));
