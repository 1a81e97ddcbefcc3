/** @module The registry module's public face: sectors and ministries, designated operators, ranges, exporters, CSV transfer. */
export { createRegistryService, planImport, REGISTRY_CSV_HEADER, type RegistryService, type SectorInfo, type ImportResult, type ImportError, type RangeGate } from './service.js';
export { registryMigrations } from './migrations.js';
export { registryRoutes } from './routes.js';
export { REGIMES, SECTOR_TABLE, MINISTRIES, cidrContains, normalizeCidr, type Regime, type DesignatedOperator, type DesignationInput, type Contact } from './schema.js';
export { csvLine, parseCsv } from './csv.js';
