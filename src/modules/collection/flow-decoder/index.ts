/** @module Decodes NetFlow v5, NetFlow v9 and IPFIX datagrams into normalized flows, keeping templates, sampling rates and counters per exporter. */
export { createFlowDecoder } from './decoder.js';
export { DECODE_ERROR_CODES, type DecodeErrorCode, type DecodeResult, type ExporterCounters, type FlowDecoder, type FlowDecoderOptions, type FlowDecoderStats } from './types.js';
