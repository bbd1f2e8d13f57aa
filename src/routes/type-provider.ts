// Routes declare their inputs and answers as zod schemas through fastify-type-provider-zod:
// the same schema validates the request, types the handler and becomes openapi.yaml
// (src/openapi.ts). How a route declares its schema:
//
//   import { z } from 'zod';
//   import { typed } from './type-provider.js';
//   import { errorResponse, idParams, jsonResponse, pageQuery } from './schemas.js';
//
//   export async function widgetRoutes(app: FastifyInstance, opts: { widgets: WidgetService }) {
//     typed(app).get('/admin/widgets/:id', {
//       onRequest: app.adminAuth.viewer,                    // auth before parsing: a stranger gets 401, not 400
//       schema: {
//         operationId: 'getWidget', tags: ['admin'], summary: 'A widget', security: [{ adminToken: [] }],
//         params: idParams,                                 // req.params.id: string
//         querystring: pageQuery,                           // req.query.limit: number (parsed, 1..200)
//         response: { 200: jsonResponse('The widget', widgetSchema), 404: errorResponse('No such widget.') },
//       },
//     }, (req) => opts.widgets.get(req.params.id, req.query.limit));
//   }
//
// A request that does not match answers 400 `bad_request` with the reason as `detail`
// (src/app.ts). Answers are not validated at run time: the handler's return type is checked
// against the response schema by tsc, and test/openapi-contract.test.ts validates real answers
// against openapi.yaml. (A stored event of an older shape must never turn a list into a 500.)
// Console pages (HTML) declare querystring/params/body the same way with `hide: true`.

import type { FastifyInstance, FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { FastifySchemaValidationError } from 'fastify/types/schema.js';

export { validatorCompiler };

/** Answers are serialized as they are (see above). */
export const serializerCompiler: FastifySerializerCompiler<unknown> = () => (data) => JSON.stringify(data);

/** Validation messages as one line: `limit must be 1..200; querystring/since: Invalid input`. */
export function schemaErrorFormatter(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const lines = errors.map((e) => {
    const where = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const msg = e.message ?? 'is invalid';
    if (where === '') return `${dataVar}: ${msg}`;
    return msg.startsWith(where) ? msg : `${where}: ${msg}`;
  });
  return new Error(lines.join('; '));
}

/** Validation that leaves the request untouched: for schemas that only document (raw Paygate bodies). */
export const documentOnly: FastifySchemaCompiler<unknown> = () => (data) => ({ value: data });

/** The instance with handler types inferred from the zod schemas. */
export function typed(app: FastifyInstance) {
  return app.withTypeProvider<ZodTypeProvider>();
}
