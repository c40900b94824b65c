import AjvCompiler from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';
import { breathe } from '../domain/breathe.js';

/**
 * Fastify's own compilers (Ajv validators, fast-json-stringify serializers, with Fastify's
 * defaults), each route's built on its first use instead of at start-up. Fastify compiles every
 * route schema while the app gets ready: with the platform APIs' querystring and response schemas
 * that was the largest single share of `serve`'s start-up (Ajv 11%, fast-json-stringify 3% of a
 * profiled start, docs/benchmarks.md), on the way to /readyz. A route's first request pays its own
 * (a few ms once); `compilePending()` builds the rest in the background after the port is open,
 * so a schema that cannot be compiled still shows up right after start, in the log and in tests,
 * not only on a request.
 *
 * The wrappers behave like what they wrap: a validator forwards Fastify's second argument (the
 * parent object Ajv needs to change a root value) and exposes the last call's `errors`.
 */
type Validate = ((data: unknown, context?: unknown) => unknown) & { errors?: unknown; schemaEnv?: unknown };
type Build<F> = () => F;

const pending = new Set<Build<unknown>>();

function lazy<F>(build: Build<F>): Build<F> {
  let built: F | undefined;
  const get = () => {
    if (built === undefined) {
      pending.delete(get);
      built = build();
    }
    return built;
  };
  pending.add(get);
  return get;
}

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

/**
 * For one Fastify instance's `schemaController.compilersFactory` (a new one per instance: like
 * Fastify's defaults, each has its own selectors, which cache their Ajv instances).
 */
export function lazyCompilersFactory(): CompilersFactory {
  const validatorSelector = AjvCompiler() as unknown as (...args: unknown[]) => (route: unknown) => Validate;
  const serializerSelector = SerializerSelector() as unknown as (...args: unknown[]) => (route: unknown) => (data: unknown) => string;
  return {
    // @ts-expect-error -- a wrapper, not an Ajv ValidateFunction: it forwards to one and mirrors `errors`.
    buildValidator(...factoryArgs: unknown[]) {
      const compile = validatorSelector(...factoryArgs);
      return (route: unknown): Validate => {
        const get = lazy(() => compile(route));
        const validate: Validate = (data, context) => {
          const fn = get();
          const result = context === undefined ? fn(data) : fn(data, context);
          validate.errors = fn.errors;
          return result;
        };
        // Fastify passes the parent object only to validators that have this (Ajv's do).
        validate.schemaEnv = true;
        return validate;
      };
    },
    buildSerializer(...factoryArgs: unknown[]) {
      const compile = serializerSelector(...factoryArgs);
      return (route: unknown) => {
        const get = lazy(() => compile(route));
        return (data: unknown) => get()(data);
      };
    },
  };
}

/** How many validators and serializers are not built yet (diagnostics, tests). */
export function pendingCompilers(): number {
  return pending.size;
}

/**
 * Builds every validator and serializer not built yet, a few per turn of the event loop (so that
 * requests arriving meanwhile are not held up). Resolves when all are built; rejects with the
 * first that fails.
 */
export async function compilePending(perTurn = 4): Promise<void> {
  while (pending.size > 0) {
    let n = 0;
    for (const get of [...pending]) {
      get();
      if (++n >= perTurn) break;
    }
    await breathe();
  }
}
