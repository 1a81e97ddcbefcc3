/** @module Transports between the pipeline's stages: in-process by default, NATS JetStream for a cluster. */
export { subjectMatches, type Consumption, type ConsumeOptions, type Delivery, type DeliveryAck, type DeliverFrom, type DeliveryHandler, type PublishAck, type PublishOptions, type StreamSpec, type Transport } from './types.js';
export { createMemoryTransport, type MemoryTransportOptions } from './memory.js';
export { createJetStreamTransport, type JetStreamTransportOptions } from './jetstream.js';
