/** @module The configuration schema: every key mamori reads, its type and its default (STYLE.md §6). */
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const share = z.number().min(0).max(1);

/** Keys whose values are secrets: redacted whenever the configuration is printed or logged. */
export const SECRET_PATHS: readonly string[] = ['database.url', 'secrets.pseudonymKey', 'secrets.sessionSecret', 'secrets.metricsToken', 'secrets.keyEncryptionKey'];

// `MAMORI_COLLECTOR_LISTENERS=127.0.0.1:2055,[::1]:2055` arrives as a string; files give a list.
function parseListenerList(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
    return m === null ? s : { host: m[1], port: Number(m[2]) };
  });
}

// `MAMORI_SERVER_TRUST_PROXY=10.0.0.5,10.1.0.0/16` arrives as a string, as do "true" and "false".
function parseTrustProxy(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  return parseCommaList(v);
}

// `MAMORI_SELECTION_DOMESTIC_PREFIXES=133.0.0.0/8,2001:240::/32` arrives as a string; files give a list.
function parseCommaList(v: unknown): unknown {
  return typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : v;
}

// `MAMORI_SELECTION_SPECIAL_RANGE_OVERRIDES=203.0.113.0/24=foreign,10.0.0.0/8=ignore` arrives as a string; files give a map.
function parseOverrideList(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  return Object.fromEntries(v.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const at = s.lastIndexOf('=');
    return at < 0 ? [s, ''] : [s.slice(0, at), s.slice(at + 1)];
  }));
}

// The full check (host bits zero) happens where the locator is built; this catches typos early.
const cidr = z.string().regex(/^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)\/\d{1,3}$/, 'write a.b.c.d/len or x:y::/len');

/** The full configuration; `.strict()` everywhere so an unknown key is an error, never ignored. */
export const ConfigSchema = z
  .object({
    dataDir: z.string().min(1).default('./data'),
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(8080),
        publicUrl: z.string().url().optional(),
        bodyLimitBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
        /** Deepest nesting of objects and arrays a JSON body may have; deeper bodies are refused with 400. */
        maxJsonDepth: z.number().int().min(8).max(1000).default(64),
        /**
         * Which proxies' X-Forwarded-For to believe when working out a client's address (for the per-address sign-in
         * limit and the logs): `false`, a list of proxy addresses or CIDRs, or `true` (any hop: spoofable, tests only).
         */
        trustProxy: z.preprocess(parseTrustProxy, z.union([z.boolean(), z.array(z.string().min(1)).min(1).max(64)])).default(false),
        shutdownGraceMs: z.number().int().min(0).max(600_000).default(10_000),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        /** `sqlite:./data/mamori.db` (default: a file under dataDir) or `postgres://user:pass@host/db`. */
        url: z.string().min(1).optional(),
        busyTimeoutMs: z.number().int().min(0).max(600_000).default(5000),
        poolSize: z.number().int().min(1).max(200).default(10),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        sessionTtlMinutes: z.number().int().min(1).max(24 * 60).default(480),
        cookieSecure: z.boolean().default(true),
        /** Failed sign-ins of an account (from strangers, or from one known client) before each further try must wait. */
        maxFailedLogins: z.number().int().min(1).max(100).default(5),
        /** The longest wait between tries once backoff has started (it doubles from 1 s); never a lock. */
        backoffMaxSeconds: z.number().int().min(1).max(3600).default(300),
        /** Failed sign-ins one client address may make in a minute (over all usernames) before it must wait. */
        loginRateLimitPerMinute: z.number().int().min(1).max(10_000).default(20),
        tokenMaxDays: z.number().int().min(1).max(3650).default(365),
      })
      .strict()
      .prefault({}),
    audit: z
      .object({
        origin: z.string().min(1).default('mamori.go.jp/audit'),
        checkpointEveryEntries: z.number().int().min(1).default(1000),
        checkpointEverySeconds: z.number().int().min(1).default(300),
        keyFile: z.string().min(1).optional(),
        /** The commission witness's key name and key file (default `<dataDir>/keys/commission-witness.key`). */
        witnessName: z.string().min(1).default('commission.mamori.go.jp/witness'),
        witnessKeyFile: z.string().min(1).optional(),
        /**
         * `mamori serve` co-signs as the witness every this many seconds (on the API replicas' leader); 0 (the default)
         * leaves witnessing to the commission's own `mamori audit witness`. Needs witnessKeyFile. See docs/audit.md.
         */
        witnessEverySeconds: z.number().int().min(0).max(86_400).default(0),
      })
      .strict()
      .refine((a) => a.witnessEverySeconds === 0 || a.witnessKeyFile !== undefined, {
        message: 'set audit.witnessKeyFile to the commission\'s witness key file (it is never created by the server), or set witnessEverySeconds to 0',
        path: ['witnessEverySeconds'],
      })
      .prefault({}),
    collector: z
      .object({
        /** Run the UDP flow collector inside `mamori serve` and `mamori demo`. */
        enabled: z.boolean().default(true),
        /** UDP listeners; each takes NetFlow v5, v9 and IPFIX alike. In the environment: `host:port,[v6]:port`. */
        listeners: z
          .preprocess(parseListenerList, z.array(z.object({ host: z.string().min(1), port }).strict()).min(1).max(64))
          .default([{ host: '127.0.0.1', port: 2055 }]),
        /** Socket receive buffer asked for (SO_RCVBUF); the kernel may cap it (net.core.rmem_max). */
        receiveBufferBytes: z.number().int().min(4096).max(1 << 30).default(8 * 1024 * 1024),
        /**
         * Bytes of the ring in shared memory between the receive thread and the decoder: it absorbs the times the
         * decoding thread falls behind (a GC, a burst of the archive writer, other processes on the cores) — about
         * 2.7 s of a 1 M flows/s NetFlow v5 stream at the default (≈ 50 bytes a flow). Resident once the stream has
         * gone round it. docs/collection.md#receive-path
         */
        receiveRingBytes: z.number().int().min(256 * 1024).max(1 << 30).default(128 * 1024 * 1024),
        /** Receive thread: native (recvmmsg addon, `npm run build:native`; fails to start without it), js (worker thread), auto (native when the addon loads). */
        receiver: z.enum(['auto', 'native', 'js']).default('auto'),
        /** Flows per batch handed to the sink. */
        batchSize: z.number().int().min(1).max(65_536).default(4096),
        /** A partly filled batch is handed on after this long. */
        flushIntervalMs: z.number().int().min(10).max(60_000).default(1000),
        templateTimeoutSeconds: z.number().int().min(1).max(86_400).default(1800),
        pendingTimeoutSeconds: z.number().int().min(1).max(3600).default(60),
        exporterIdleSeconds: z.number().int().min(1).max(7 * 86_400).default(3600),
        maxExporters: z.number().int().min(1).max(65_536).default(4096),
      })
      .strict()
      .prefault({}),
    analysis: z
      .object({
        /**
         * Worker threads that run the detectors (kinds split among them, findings identical to in-thread);
         * 0 runs them on the pipeline's own thread; `auto` (the default) takes one with two cores and two
         * with three or more. See docs/decisions/0003-detector-threads.md, 0005-detector-threads-by-default.md.
         */
        detectorThreads: z.union([z.literal('auto'), z.number().int().min(0).max(4)], { error: 'expected "auto" or a whole number of threads from 0 to 4' }).default('auto'),
        /** Beacon and botnet fan-in thresholds (docs/detection.md#beaconing; the analysis module's DEFAULT_BEACON_CONFIG matches). */
        beacon: z
          .object({
            maxPairs: z.number().int().min(1024).max(1 << 24).default(1 << 18),
            window: z.number().int().min(8).max(1024).default(64),
            admitAfter: z.number().int().min(1).max(255).default(3),
            minEvents: z.number().int().min(3).max(1024).default(8),
            burstMs: z.number().int().min(0).max(60_000).default(1000),
            minSpanMs: z.number().int().min(0).max(86_400_000).default(30_000),
            suspectScore: share.default(0.7),
            alertScore: share.default(0.7),
            alertInterval: share.default(0.85),
            fastIntervalMs: z.number().int().min(0).max(86_400_000).default(60_000),
            unansweredShare: share.default(0.5),
            popularClients: z.number().int().min(1).max(1e9).default(500),
            fanInHosts: z.number().int().min(2).max(1e6).default(5),
            p2pPeers: z.number().int().min(0).max(1e6).default(3),
            idleMs: z.number().int().min(60_000).max(365 * 86_400_000).default(7 * 86_400_000),
          })
          .strict()
          .prefault({}),
        /** Scan thresholds (docs/detection.md#scanning; DEFAULT_SCAN_CONFIG matches). */
        scan: z
          .object({
            windowMs: z.number().int().min(1000).max(86_400_000).default(15 * 60_000),
            minTargets: z.number().int().min(2).max(1e6).default(10),
            minUnansweredShare: share.default(0.3),
            alertTargets: z.number().int().min(2).max(1e6).default(10),
            maxKeys: z.number().int().min(1).max(1e8).default(200_000),
            maxTargetsPerKey: z.number().int().min(64).max(1e6).default(4096),
          })
          .strict()
          .prefault({}),
        /** DDoS thresholds (docs/detection.md#ddos; DEFAULT_DDOS_CONFIG matches). */
        ddos: z
          .object({
            binMs: z.number().int().min(1000).max(300_000).default(5_000),
            minPps: z.number().min(0).default(1_000),
            minBps: z.number().min(0).default(20e6),
            baselineRatio: z.number().min(1).max(1e6).default(10),
            baselineBins: z.number().int().min(1).max(32).default(24),
            warmupBins: z.number().int().min(1).max(10_000).default(6),
            alertBins: z.number().int().min(1).max(64).default(3),
            maxAnswerRatio: z.number().min(0).default(0.2),
            minReflectors: z.number().int().min(1).max(1e6).default(10),
            minReflectionBps: z.number().min(0).default(5e6),
            minReflectedPacket: z.number().int().min(0).max(65_535).default(200),
            maxTargets: z.number().int().min(1).max(1e7).default(50_000),
            admitPackets: z.number().min(1).default(1000),
            latenessMs: z.number().int().min(0).max(3_600_000).default(30_000),
          })
          .strict()
          .prefault({}),
        /** Kept flows waiting for the detectors at most; a batch beyond it is dropped whole and counted (`analysis_behind`). */
        queueRows: z.number().int().min(4096).max(16_777_216).default(1_048_576),
      })
      .strict()
      .prefault({}),
    archive: z
      .object({
        /** Staged kept flows that start a write of Parquet files (each partition's share one file, row groups of 122,880). */
        fileRows: z.number().int().min(1000).max(16_777_216).default(1_048_576),
        /** Seconds after which staged flows are written even when fewer than fileRows (how soon a query sees them). */
        maxAgeSeconds: z.number().int().min(1).max(3600).default(60),
        /** Flows staged and being written at most; a batch beyond it is dropped whole and counted (`archive_behind`). */
        bufferRows: z.number().int().min(1000).max(67_108_864).default(3_145_728),
        /** How often the write-ahead segment is synced to disk: the most a power loss can cost (a process crash costs nothing). */
        walSyncMs: z.number().int().min(10).max(60_000).default(1000),
        /** How often small files of finished hours are merged (compaction). */
        compactEverySeconds: z.number().int().min(60).max(86_400).default(3600),
        /** Files with fewer rows than this are merged by compaction. */
        compactMinRows: z.number().int().min(1).max(16_777_216).default(100_000),
        /**
         * How often rollups (minute and port, decisions 0014 and 0016) are written for the files of hours not compacted yet, so
         * that a question over the current hour reads rows only of what was written since; 0: only at compaction.
         */
        rollupEverySeconds: z.number().int().min(0).max(86_400).default(300),
        /**
         * Memory the DuckDB instance that writes rollups may take (bytes); past it, it spills to the archive's `_spill/`. Unbounded,
         * DuckDB takes up to 80 % of the machine: a port rollup of 8.4 M flows of distinct addresses peaked at 2.4 GB.
         */
        rollupMemoryBytes: z.number().int().min(64 * 2 ** 20).max(2 ** 50).default(512 * 2 ** 20),
        /**
         * Memory each DuckDB instance that writes or merges archive files may take (bytes): the writer's thread, compaction and
         * purges, and in a cluster the leader's bucket compaction and the archiver's rounds; past it, it spills to `_spill/`.
         */
        writeMemoryBytes: z.number().int().min(64 * 2 ** 20).max(2 ** 50).default(512 * 2 ** 20),
        /** Memory each DuckDB instance that answers archive queries may take (bytes; a server's, a replica's, a CLI's); past it, it spills. */
        queryMemoryBytes: z.number().int().min(64 * 2 ** 20).max(2 ** 50).default(2 ** 30),
      })
      .strict()
      .refine((a) => a.bufferRows >= a.fileRows, { message: 'bufferRows must be at least fileRows', path: ['bufferRows'] })
      .prefault({}),
    sharing: z
      .object({
        /** Most objects one TAXII page may carry, at most 1,000 (a client's `limit` above it is lowered to it). */
        maxPageSize: z.number().int().min(1).max(1000).default(1000),
        /** Memory for recipients' rendered pages (an LRU keyed by recipient and collection version). */
        pageCacheMiB: z.number().int().min(0).max(16_384).default(128),
        /** Marked objects kept rendered per recipient and version (an LRU). */
        renderCacheEntries: z.number().int().min(1).max(10_000_000).default(250_000),
        /** Hours a TAXII status resource stays readable after its add request; older ones are deleted. */
        taxiiStatusRetentionHours: z.number().int().min(1).max(24 * 365).default(168),
        /** The key that marks each recipient's copies (leak tracing); default `<dataDir>/keys/sharing-fingerprint.key`. API replicas share one. */
        fingerprintKeyFile: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    oversight: z
      .object({
        /** Members of the commission (a chair and four members by law). */
        commissionSize: z.number().int().min(1).max(50).default(5),
        /** Members who must vote (approve, deny or abstain) before a decision can be taken. */
        quorum: z.number().int().min(1).max(50).default(3),
        /** simple: approvals > denials among votes cast; absolute: approvals > half the commission; two_thirds: approvals ≥ ⅔ of votes cast. */
        majority: z.enum(['simple', 'absolute', 'two_thirds']).default('simple'),
        /** Hours the commission has to review an emergency action before it is halted and its data purged. */
        emergencyReviewHours: z.number().int().min(1).max(24 * 30).default(72),
        /** Longest acquisition period the commission may approve, in months (the act's maxima: transit 6, cross-border 3; only shorter is allowed). */
        transitMaxMonths: z.number().int().min(1).max(6).default(6),
        crossBorderMaxMonths: z.number().int().min(1).max(3).default(3),
        /** How long an approved measure's authorization lasts. */
        measureApprovalDays: z.number().int().min(1).max(365).default(30),
        /** How long a re-identification approval lasts. */
        reidentificationApprovalHours: z.number().int().min(1).max(24 * 30).default(72),
        /** How often the scheduler expires approvals and enforces emergency review deadlines. */
        sweepEverySeconds: z.number().int().min(1).max(3600).default(30),
      })
      .strict()
      .refine((o) => o.quorum <= o.commissionSize, { message: 'quorum cannot exceed commissionSize', path: ['quorum'] })
      .prefault({}),
    reporting: z
      .object({
        /** Directory of notification forms (`<form>/v<N>.json`); default: the `forms/` folder shipped with mamori. */
        formsDir: z.string().min(1).optional(),
        /** "Promptly": hours after awareness by which the initial incident report is due. */
        initialReportHours: z.number().int().min(1).max(24 * 30).default(24),
        /** Days after awareness by which the written report is due (the act: 30). */
        writtenReportDays: z.number().int().min(1).max(365).default(30),
        /** Hours before a deadline at which the operator is reminded (never earlier than halfway). */
        reminderLeadHours: z.number().int().min(1).max(24 * 30).default(24),
        /** How often the scheduler checks the reporting clocks. */
        sweepEverySeconds: z.number().int().min(1).max(3600).default(60),
        attachmentMaxBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(10 * 1024 * 1024),
        attachmentMediaTypes: z.array(z.string().regex(/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/)).min(1).default(['application/pdf', 'text/plain', 'text/csv', 'application/json', 'image/png', 'image/jpeg', 'application/zip', 'application/vnd.tcpdump.pcap']),
        /** Ed25519 key that signs filing receipts (default `<dataDir>/keys/reporting-receipts.key`). */
        receiptKeyFile: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    selection: z
      .object({
        /** ISO 3166-1 alpha-2 code of the country whose addresses are domestic. */
        domesticCountry: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code such as JP').default('JP'),
        /** How often the retention job deletes archive partitions past their basis's retention (each deletion audited). */
        retentionEverySeconds: z.number().int().min(60).max(7 * 86_400).default(3600),
        /** How often the pseudonym key changes (a flow's period follows its start time). */
        pseudonymRotation: z.enum(['daily', 'monthly', 'yearly']).default('monthly'),
        /** The pseudonym keystore (one encrypted key per period); default `<dataDir>/keys`. Mode 0700, its files 0600. */
        keystoreDir: z.string().min(1).optional(),
        /** The key-encryption key of the keystore (32 bytes or 64 hex digits, mode 0600), on a volume apart from the data. */
        kekFile: z.string().min(1).optional(),
        /** Demo and tests only: let a missing key-encryption key be made at `<dataDir>/kek`, beside the data (refused otherwise). */
        kekBesideData: z.boolean().default(false),
        /** RIR delegated-extended statistics files, most authoritative country source (e.g. delegated-apnic-extended-latest). */
        rirDelegatedFiles: z.preprocess(parseCommaList, z.array(z.string().min(1)).max(64)).default([]),
        /** MaxMind-format country databases (.mmdb), consulted after the RIR files. */
        mmdbFiles: z.preprocess(parseCommaList, z.array(z.string().min(1)).max(16)).default([]),
        /** Use the bundled @ip-location-db country data last (demo and tests; production should list RIR files or an MMDB). */
        bundledCountryData: z.boolean().default(true),
        /** Prefixes that are domestic whatever the country data says (operators' ranges; the registry's ranges are added at start). */
        domesticPrefixes: z.preprocess(parseCommaList, z.array(cidr).max(100_000)).default([]),
        /** Treatment of special-purpose ranges by exact prefix of the RFC 6890 table: domestic, foreign, unknown or ignore. */
        specialRangeOverrides: z.preprocess(parseOverrideList, z.record(cidr, z.enum(['domestic', 'foreign', 'unknown', 'ignore']))).default({}),
      })
      .strict()
      .prefault({}),
    cluster: z
      .object({
        /** NATS servers of the cluster (nats://host:port); empty: one process, in-process transport (the default). */
        servers: z.preprocess(parseCommaList, z.array(z.string().regex(/^nats:\/\/[^\s/]+$/, 'write nats://host:port')).max(32)).default([]),
        /** The flows stream and its subjects `<subjectPrefix>.<family>.<partition>`. */
        stream: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('MAMORI_FLOWS'),
        subjectPrefix: z.string().regex(/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/).default('mamori.flows'),
        /** Partitions per family (fixed for a stream's life: it places stored messages). */
        partitions: z.number().int().min(1).max(1024).default(16),
        /** Stream copies on distinct NATS servers (R3 survives one server lost). */
        replicas: z.number().int().min(1).max(5).default(3),
        /** How long the stream keeps flows: at least the detection window a restarted worker replays. */
        retentionHours: z.number().int().min(1).max(24 * 90).default(48),
        /** KV bucket where the centre publishes the selection state the edges follow (bases, operator ranges, wrapped keys). */
        stateBucket: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('mamori_selection'),
        /**
         * The edge key-wrapping key (32 random bytes or 64 hex digits, mode 0600): the centre wraps the pseudonym keys
         * it publishes under it, every edge unwraps with it. Same file at the centre and every edge (a systemd credential).
         */
        keyWrapFile: z.string().min(1).optional(),
        edge: z
          .object({
            /** This edge's id (site and node, e.g. osaka-ix-1): in every message and message id. */
            id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, - and _').optional(),
            /**
             * Flows an edge collects into one batch before selecting and publishing it (its collector's batchSize; collector.batchSize
             * is not used at an edge). Each batch is a message per partition and family: bigger ones cost less per flow at the broker,
             * the workers and the archiver (bench/cluster: 32,768 against 16,384 halved the messages, about −0.3 µs per flow over the
             * edge, broker, worker and archiver at 250 k flows/s); a batch waits at most collector.flushIntervalMs.
             */
            batchFlows: z.number().int().min(1).max(65_536).default(32_768),
            /** Batches awaiting the broker's acknowledgement at once. */
            maxInFlight: z.number().int().min(1).max(256).default(8),
            /** Encoded batches kept in memory while the broker is slow or gone; beyond it (and the spool) flows are dropped and counted. */
            bufferBytes: z.number().int().min(1 << 20).max(64 * 2 ** 30).default(256 * 2 ** 20),
            /** Optional disk spool after the memory buffer (files of minimized batches, mode 0600). */
            spoolDir: z.string().min(1).optional(),
            spoolBytes: z.number().int().min(1 << 20).max(2 ** 40).default(4 * 2 ** 30),
            publishTimeoutMs: z.number().int().min(100).max(120_000).default(5000),
            /** Where the edge serves /metrics (host:port). */
            metricsListen: z.string().regex(/^(\[[^\]]+\]|[^:]+):\d+$/, 'write host:port').default('127.0.0.1:9464'),
            /** Past this age of the centre's last heartbeat the edge's state is not current and it drops every flow (counted); 0: never. */
            stateMaxAgeSeconds: z.number().int().min(0).max(86_400).default(120),
          })
          .strict()
          .prefault({}),
        worker: z
          .object({
            /** This analysis worker's id (unique among live workers). */
            id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, - and _').optional(),
            /** How often findings are stored (then the deliveries they cover are acknowledged). */
            flushEverySeconds: z.number().int().min(1).max(3600).default(5),
            /** How often partition ownership is checked: a dead worker's partitions move within about this. */
            rebalanceEverySeconds: z.number().int().min(1).max(600).default(5),
            /** Unacknowledged deliveries go to the partition's next owner after this. */
            ackWaitSeconds: z.number().int().min(5).max(3600).default(30),
            /** After this long without a message, open detection windows close (end of input, e.g. a replayed file); 0: never. */
            finalAfterIdleSeconds: z.number().int().min(0).max(86_400).default(0),
            /** Longest a partition's replay may take before the worker gives up and tries again at the next rebalance. */
            replayTimeoutSeconds: z.number().int().min(5).max(86_400).default(600),
            /** Hosts interned per partition family. */
            maxHosts: z.number().int().min(1000).max(16_000_000).default(1_000_000),
            metricsListen: z.string().regex(/^(\[[^\]]+\]|[^:]+):\d+$/, 'write host:port').default('127.0.0.1:9465'),
          })
          .strict()
          .prefault({}),
        archive: z
          .object({
            /** The JetStream object store bucket that holds the cluster's flow archive (R`cluster.replicas`); API replicas cache it. */
            bucket: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _').default('mamori-archive'),
            /** How often the archiver stores what it took in the bucket, then acknowledges those flows (an upper bound on query lag). */
            storeEverySeconds: z.number().int().min(1).max(600).default(10),
            /** Bytes an API replica keeps of the bucket at most: the flow files queries read, fetched on demand, evicted least recently used. */
            cacheMaxBytes: z.number().int().min(1 << 16).max(2 ** 50).default(256 * 2 ** 30),
            /** Downloads at once for one query. */
            cacheFetchConcurrency: z.number().int().min(1).max(64).default(4),
            /** How long a query waits for room while other queries pin the cache (then it is refused: try again). */
            cacheWaitSeconds: z.number().int().min(0).max(600).default(30),
          })
          .strict()
          .prefault({}),
        api: z
          .object({
            /** This API replica's name (in logs and the leader metric); default: host name and process id. */
            id: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'lower-case letters, digits, ., - and _').optional(),
            /** How often a standby replica tries to take the singletons' lease, and the leader checks it still holds it. */
            leaseCheckSeconds: z.number().int().min(1).max(30).default(5),
            /** NATS subject on which replicas tell each other to drop cached data. */
            invalidationSubject: z.string().regex(/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/).default('mamori.api.invalidate'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    secrets: z
      .object({
        /** Optional override; by default keys live in files under `<dataDir>/keys` with mode 0600. */
        pseudonymKey: z.string().min(32).optional(),
        /** The keystore's key-encryption key as a secret (instead of selection.kekFile). */
        keyEncryptionKey: z.string().min(32).optional(),
        sessionSecret: z.string().min(32).optional(),
        /** Bearer token a Prometheus scraper sends for `/metrics`; without one, only loopback clients may read it. */
        metricsToken: z.string().min(32, 'use at least 32 characters (e.g. openssl rand -hex 32)').optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** The validated, effective configuration. */
export type Config = z.infer<typeof ConfigSchema>;
/** What a file or the environment may supply before defaults fill in. */
export type ConfigInput = z.input<typeof ConfigSchema>;
