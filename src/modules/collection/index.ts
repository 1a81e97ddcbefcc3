/** @module Public surface of the collection module: flow batches, the NetFlow/IPFIX decoder and encoder, capture files. */
export { ADDR_BYTES, addressView, appendFlow, createFlowBatch, flowBatchCapacity, formatAddress, readFlow, writeAddress, type FlowBatch, type FlowRecord } from './flow-batch.js';
export { DECODE_ERROR_CODES, createFlowDecoder, type DecodeErrorCode, type DecodeResult, type ExporterCounters, type FlowDecoder, type FlowDecoderOptions, type FlowDecoderStats } from './flow-decoder/index.js';
export { encodeIpfix, encodeNetflowV5, encodeNetflowV9, type EncodeOptions, type EncodedExport } from './encode.js';
export { readPcap, readUdpDatagrams, type PcapPacket, type UdpDatagram } from './pcap.js';
export { runFuzz, createRandom, type FuzzReport } from './fuzz.js';
export { createCountingSink, createUdpCollector, formatListen, nullSink, parseListen, type BoundListener, type CollectorLogger, type CollectorMetrics, type CountingSink, type FlowSink, type ListenAddress, type UdpCollector, type UdpCollectorConfig, type UdpCollectorDeps, type UdpCollectorStats } from './udp-collector.js';
export { FLOW_FILE_FORMATS, FlowFileError, detectFlowFileFormat, importFlowFile, type FlowFileFormat, type FlowFileImportOptions, type FlowFileRejectReason, type FlowFileSummary, type FlowOrigin, type RejectCount } from './flow-files.js';
