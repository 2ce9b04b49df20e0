// Tool declarations compiled once per process: zod objects for validation and the public
// JSON (JSON Schema included) that tools/list returns. Nothing here runs per request.
import { z } from 'zod';
import { SCOPES, type Scope, type ToolAnnotations, type ToolDefinition } from './define.ts';

type JsonSchema = Record<string, unknown>;

/** What a client sees of a tool in tools/list; also what the registry snapshot records. */
export interface PublicTool {
  name: string;
  title: string;
  description: string;
  inputSchema: JsonSchema & { type: 'object' };
  outputSchema: JsonSchema & { type: 'object' };
  annotations: ToolAnnotations;
}

export interface CompiledTool {
  definition: ToolDefinition;
  scope: Scope;
  /** Takes team_id, resolved to the actor before the handler runs (execute.ts). */
  workspace: boolean;
  /** Strict: an unknown argument is refused by name rather than silently dropped. */
  input: z.ZodObject;
  output: z.ZodObject;
  public: PublicTool;
}

export interface CompiledTools {
  /** The tools/list result, built once and returned as is on every call. */
  list: { tools: PublicTool[] };
  byName: ReadonlyMap<string, CompiledTool>;
  /** Scopes some tool needs, in SCOPES order. */
  scopes: readonly Scope[];
}

/** The scopes some tool needs, in SCOPES order: what metadata and 401 challenges advertise. */
export function scopesOf(list: readonly ToolDefinition[]): Scope[] {
  const used = new Set(list.map((tool) => tool.scope));
  return (Object.keys(SCOPES) as Scope[]).filter((scope) => used.has(scope));
}

// draft-07, as the MCP SDK emits for zod schemas: its client validates outputs with Ajv's draft-07.
function jsonSchema(schema: z.ZodObject, io: 'input' | 'output'): JsonSchema & { type: 'object' } {
  return tidy(z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' })) as JsonSchema & { type: 'object' };
}

// zod writes a 150-character regex next to every `format: "uuid"`; the format says it already,
// the server validates with zod anyway, and every tools/list (and a model's context) is smaller.
function tidy(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tidy);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'pattern' && (node as { format?: unknown }).format === 'uuid') continue;
    out[key] = tidy(value);
  }
  return out;
}

/** The input field every workspace tool publishes, added here and nowhere else. */
export const TEAM_ID_FIELD = 'team_id';
const teamIdField = z
  .uuid({ error: 'team_id must be a team id (a UUID) from your Pictor teams' })
  .optional()
  .describe("Act on this team's resources instead of your own. Omit for your personal account. You must be a member of the team.");

export function compileTool(definition: ToolDefinition): CompiledTool {
  if (Object.hasOwn(definition.input, TEAM_ID_FIELD)) {
    throw new Error(`${definition.name} declares ${TEAM_ID_FIELD}: set workspace: true instead, and the registry adds it`);
  }
  // First, as the declarations used to list it, so the published JSON keeps its field order.
  const input = z.strictObject(definition.workspace ? { [TEAM_ID_FIELD]: teamIdField, ...definition.input } : definition.input);
  const output = z.object(definition.output);
  return {
    definition,
    scope: definition.scope,
    workspace: definition.workspace,
    input,
    output,
    public: {
      name: definition.name,
      title: definition.title,
      description: definition.description,
      inputSchema: jsonSchema(input, 'input'),
      outputSchema: jsonSchema(output, 'output'),
      annotations: { ...definition.annotations },
    },
  };
}

export function compileTools(definitions: readonly ToolDefinition[]): CompiledTools {
  const byName = new Map<string, CompiledTool>();
  for (const definition of definitions) {
    if (byName.has(definition.name)) throw new Error(`Two tools are named ${definition.name}`);
    byName.set(definition.name, compileTool(definition));
  }
  return { list: { tools: [...byName.values()].map((tool) => tool.public) }, byName, scopes: scopesOf(definitions) };
}
