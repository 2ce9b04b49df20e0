// Placeholder until this family's tools land; the registry (index.ts) imports it.
import type { ToolDefinition } from './define.ts';

export const accountTools: ToolDefinition[] = [];
