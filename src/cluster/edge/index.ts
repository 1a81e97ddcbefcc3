/** @module The edge role: selection at the collection site, publishing selected batches to the centre. */
export { createEdge, type Edge, type EdgeDeps, type EdgeSettings, type EdgeStats } from './edge.js';
export { Outbox, type Outgoing, type OutboxOptions } from './buffer.js';
