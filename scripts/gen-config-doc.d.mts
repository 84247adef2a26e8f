/** One documented setting of the config schema. */
export interface ConfigRow {
  /** Index into MEANINGS (list-entry kinds tagged, e.g. `plugins[]{command}.name`). */
  key: string;
  /** JSON path as readers see it (`plugins[].name`, `tenants.<tenant>.quotas`). */
  path: string;
  /** Top-level key it is documented under ('' for top-level scalars). */
  section: string;
  type: string;
  /** JSON of the default, or `required` / `unset`. */
  default: string;
  env: string | undefined;
  heading?: boolean;
  branch?: string;
}

export const MEANINGS: Readonly<Record<string, string>>;
export function typeOf(schema: unknown): string;
export function configRows(jsonSchema: Record<string, unknown>): ConfigRow[];
export function checkMeanings(rows: readonly ConfigRow[], meanings?: Readonly<Record<string, string>>): void;
export function renderConfigDoc(jsonSchema: Record<string, unknown>, meanings?: Readonly<Record<string, string>>): string;
