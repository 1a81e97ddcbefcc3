/** @module What edges follow from the centre over NATS KV: legal bases, operator ranges and wrapped per-period pseudonym keys; the edges' counters back to the centre's audit. */
export { centreStateJobs, type CentreDeps, type CentreJob } from './centre.js';
export { createStatePublisher, periodsInUse, type StatePublisher, type PublisherDeps, type PublisherSettings } from './publisher.js';
export { createStateFollower, type StateFollower, type FollowerDeps, type FollowerSettings, type NotCurrent } from './follower.js';
export { createCountersReporter, counterTotals, edgeCountersStreamSpec, parseCountersMessage, type CountersMessage, type CountersReporter } from './counters.js';
export { readWrapKeyFile, wrapKey, unwrapKey, wrapKeyFrom, type WrapKey, type WrappedKey, type UnwrapFailure } from './keywrap.js';
export { connectNats, openBucket, type BucketSettings, type OpenBucket } from './bucket.js';
export { ENTRY, keyEntry, periodOfEntry } from './entries.js';
export { checkCentreLayout } from './layout-check.js';
