/** @module Names of the objects in the cluster's archive bucket: flow files by basis and hour, purge tombstones, and the archiver's round records. */
import { portRollupOf, type PortRollup } from '#modules/selection/index.js';

/** A flow file's object: `flows/basis=<id>/hour=<YYYY-MM-DDTHH>/<file>.parquet`, the local archive's layout under `flows/`. */
export interface FlowObjectName { basis: string; hour: string; file: string }

const FLOW = /^flows\/basis=([A-Za-z0-9_-]{1,100})\/hour=(\d{4}-\d{2}-\d{2}T\d{2})\/([A-Za-z0-9_.-]{1,200}\.parquet)$/;
const ROLLUP = /^flows\/basis=([A-Za-z0-9_-]{1,100})\/hour=(\d{4}-\d{2}-\d{2}T\d{2})\/([A-Za-z0-9_.-]{1,200}\.rollup)$/;
const PORTS = /^flows\/basis=([A-Za-z0-9_-]{1,100})\/hour=(\d{4}-\d{2}-\d{2}T\d{2})\/([A-Za-z0-9_.-]{1,200}\.ports)$/;
const PURGED = /^purged\/([A-Za-z0-9_-]{1,100})$/;

/** The object name of a flow file. */
export const flowObjectName = (n: FlowObjectName): string => `flows/basis=${n.basis}/hour=${n.hour}/${n.file}`;

/** A flow file's parts, or undefined when the name is not one (nothing from a name can leave the cache directory). */
export function parseFlowObject(name: string): FlowObjectName | undefined {
  const m = FLOW.exec(name);
  return m === null ? undefined : { basis: m[1]!, hour: m[2]!, file: m[3]! };
}

/**
 * A partition's object: a flow file, the minute rollup of one (decision 0014: `<stem>.rollup` beside `<stem>.parquet`),
 * or a port rollup of several (decision 0016: `<id>.ports`, the files it covers named in its metadata).
 */
export interface ArchiveObjectName extends FlowObjectName { kind: 'flows' | 'rollup' | 'ports' }

/** A flow file's or a rollup's parts, or undefined. */
export function parseArchiveObject(name: string): ArchiveObjectName | undefined {
  const f = parseFlowObject(name);
  if (f !== undefined) return { ...f, kind: 'flows' };
  const m = ROLLUP.exec(name);
  if (m !== null) return { basis: m[1]!, hour: m[2]!, file: m[3]!, kind: 'rollup' };
  const p = PORTS.exec(name);
  return p === null ? undefined : { basis: p[1]!, hour: p[2]!, file: p[3]!, kind: 'ports' };
}

/** The port rollup's parts (decision 0016) as its object's metadata says, or undefined when it says none (never used). */
export function portRollupOfObject(info: { name: string; metadata?: Record<string, string> | undefined }): PortRollup | undefined {
  return portRollupOf(info.name, info.metadata ?? {});
}

/** The object name of a flow file's rollup (same partition, `.parquet` → `.rollup`). */
export const rollupObjectName = (flowObject: string): string => `${flowObject.slice(0, -'.parquet'.length)}.rollup`;

/** The tombstone of a purged basis: its flows are never stored or cached again. */
export const purgedObjectName = (basis: string): string => `purged/${basis}`;

/** The basis a tombstone names, or undefined. */
export const parsePurged = (name: string): string | undefined => PURGED.exec(name)?.[1];

/** The archiver's record of one round (which stream messages the round's files hold). */
export const roundObjectName = (id: string): string => `rounds/${id}`;

/** Whether a name is a round record. */
export const isRound = (name: string): boolean => name.startsWith('rounds/');

/** Object metadata keys: rows of a flow file (its Parquet footer's count), the files a merged file replaces, its round. */
export const META = { rows: 'rows', replaces: 'replaces', round: 'round' } as const;
