/** @module The archiver role: the flow stream into the flow archive, one process at a time. */
export { createArchiver, type Archiver, type ArchiverDeps, type ArchiverSettings, type ArchiverStats } from './archiver.js';
