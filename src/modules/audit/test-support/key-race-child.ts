/** Test child: waits for the go file, then loads-or-creates the three start-up keys on shared paths and prints their public parts. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatVerifierKey, SIG_ED25519, verifierOf } from '../checkpoint.js';
import { loadOrCreateSignerKey } from '../keys.js';
import { loadOrCreateReceiptSigner } from '#modules/reporting/index.js';
import { loadOrCreateFingerprintKey } from '#modules/sharing/index.js';

const [dir = '', go = ''] = process.argv.slice(2);
process.stdout.write('ready\n');
// Spin rather than sleep: every child leaves the barrier within a millisecond of the file appearing.
while (!existsSync(go)) { /* wait */ }
const log = formatVerifierKey(verifierOf(loadOrCreateSignerKey(join(dir, 'keys', 'audit-log.key'), 'race.example/audit', SIG_ED25519).key));
const receipt = loadOrCreateReceiptSigner(join(dir, 'keys', 'receipt.key')).publicKey;
const fingerprint = loadOrCreateFingerprintKey(join(dir, 'keys', 'fingerprint.key')).toString('hex').slice(0, 8);
process.stdout.write(`${JSON.stringify({ log, receipt, fingerprint })}\n`);
