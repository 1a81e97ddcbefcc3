// RFC 8785 JSON canonicalization, as the server hashes audit entries (src/modules/audit/jcs.ts).

/** The canonical JSON text of a value: sorted keys (UTF-16 order), ECMAScript number form, minimal escapes. */
export function canonicalize(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new Error('NaN and Infinity are not JSON');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`;
      const o = value as Record<string, unknown>;
      return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalize(o[k])}`).join(',')}}`;
    }
    default:
      throw new Error(`a ${typeof value} is not JSON`);
  }
}
