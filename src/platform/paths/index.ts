/** @module Locates files shipped with the package (policy, schemas, web build) from source or from dist. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The directory holding mamori's package.json. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'policy'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('mamori package root not found (no package.json with a policy/ folder above this file)');
    dir = up;
  }
  root = dir;
  return dir;
}

/** A path inside the package. */
export function packagePath(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}
